"""Render MNIST digits as user-style photos: dark ink on paper, off-centre, any size, many file formats.

Write a set:  python -m legacy_mnist.synthetic OUT_DIR --count 500   (digits from the MNIST test split)

Used by the tests and the benchmark to measure `--preprocess auto` against the book's preprocessing on
images that look like what people photograph or scan, with the true label known. Every photo is drawn
from a seeded generator, so a set is reproducible from (digits, count, seed).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageFilter

# File kinds, used round-robin so each is equally represented in a set.
KINDS = (
    "png-rgb",  # a phone photo saved as PNG
    "jpeg-rgb",  # the same as JPEG, quality 50-95
    "png-gray",  # a grayscale scan
    "png-gray16",  # a 16-bit grayscale scan
    "png-rgba",  # a cleaned-up scan: ink opaque, paper transparent (RGB black underneath)
    "png-palette",  # a palette PNG (8-64 colours)
    "jpeg-exif",  # a phone photo stored sideways with an EXIF Orientation tag
    "jpeg-cmyk",  # a CMYK JPEG from print software
    "gif-animated",  # an animated GIF whose first frame is the digit
)
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "gif": ".gif"}
# Orientation tag -> transpose that stores an upright picture so that exif_transpose restores it.
_STORE_ROTATED = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class SyntheticPhoto:
    name: str  # file name, e.g. "0007-d3-jpeg-exif.jpg"
    data: bytes  # the encoded file
    label: int  # the true digit
    kind: str  # one of KINDS
    size: tuple  # (width, height) of the upright picture


def _ink_alpha(digit: np.ndarray, rng: np.random.Generator, target_side: float, thin: bool) -> Image.Image:
    """The digit's ink coverage (0..1, mode 'F'), scaled so its longest side is `target_side` px, rotated."""
    ys, xs = np.nonzero(digit > 0)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    crop = np.pad(crop, 2)
    scale = target_side / (max(crop.shape) - 4)
    size = (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale)))
    smooth = np.asarray(Image.fromarray(crop, "F").resize(size, Image.BICUBIC), dtype=np.float32)
    # A pen gives sharp-edged strokes: threshold the blurry upscale; a higher cut gives a thinner pen.
    centre = rng.uniform(0.72, 0.82) if thin else rng.uniform(0.35, 0.6)
    alpha = np.clip((smooth - centre) / 0.12 + 0.5, 0.0, 1.0).astype(np.float32)
    angle = float(rng.uniform(-10, 10))
    return Image.fromarray(alpha, "F").rotate(angle, Image.BICUBIC, expand=True)


def render_photo(digit: np.ndarray, rng: np.random.Generator, side: int | None = None) -> tuple[Image.Image, Image.Image]:
    """One MNIST digit (uint8 28x28, ink 255) -> (upright RGB photo, ink-only RGBA picture) of one size.

    The photo: paper of random brightness and tint under a lighting gradient, dark (sometimes blue) ink,
    the digit at 30-80% of the short side anywhere on the page, rotated up to 10 degrees, camera blur and
    sensor noise; 50-600 px per side. The RGBA picture is the same ink on a transparent page.
    """
    side = int(side if side is not None else rng.integers(50, 601))
    aspect = rng.uniform(0.75, 1.33)
    width, height = side, int(np.clip(round(side * aspect), 50, 600))
    thin = rng.random() < 0.2
    alpha_img = _ink_alpha(digit, rng, rng.uniform(0.3, 0.8) * min(width, height), thin)
    alpha_img = alpha_img.resize((min(alpha_img.width, width), min(alpha_img.height, height)), Image.BICUBIC)
    left = int(rng.integers(0, width - alpha_img.width + 1))
    top = int(rng.integers(0, height - alpha_img.height + 1))
    alpha = np.zeros((height, width), dtype=np.float32)
    alpha[top : top + alpha_img.height, left : left + alpha_img.width] = np.clip(np.asarray(alpha_img), 0, 1)

    paper = rng.uniform(0.7, 1.0) + rng.uniform(-0.04, 0.04, size=3)
    direction = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(direction) * xx / width + np.sin(direction) * yy / height)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = 1.0 - rng.uniform(0.0, 0.35) * ramp
    ink = np.array([0.1, 0.15, 0.5]) * rng.uniform(0.5, 1) if rng.random() < 0.25 else rng.uniform(0, 0.3, size=3)
    rgb = (paper[None, None, :] * light[..., None]) * (1 - alpha[..., None]) + ink[None, None, :] * alpha[..., None]
    rgb += rng.normal(0.0, rng.uniform(0.0, 0.03), size=rgb.shape)
    photo = Image.fromarray(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    blur = rng.uniform(0.0, 0.004) * side
    if blur > 0.3:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    ink_rgb = np.broadcast_to(np.rint(ink * 255).astype(np.uint8), (height, width, 3))
    # Transparent pixels are black underneath, as many editors write them: only the alpha tells paper.
    cutout = np.concatenate([ink_rgb * (alpha[..., None] > 0), np.rint(alpha * 255)[..., None]], axis=-1)
    return photo, Image.fromarray(cutout.astype(np.uint8), "RGBA")


def encode_photo(photo: Image.Image, cutout: Image.Image, kind: str, rng: np.random.Generator) -> bytes:
    """Encode the upright photo (or, for png-rgba, the cutout) as a file of `kind`."""
    buffer = io.BytesIO()
    if kind == "png-rgb":
        photo.save(buffer, "PNG")
    elif kind == "jpeg-rgb":
        photo.save(buffer, "JPEG", quality=int(rng.integers(50, 96)))
    elif kind == "png-gray":
        photo.convert("L").save(buffer, "PNG")
    elif kind == "png-gray16":
        gray = np.asarray(photo.convert("L"), dtype=np.float64) / 255.0
        wide = np.rint(gray * 65535 + rng.uniform(-60, 60, size=gray.shape)).clip(0, 65535).astype(np.uint16)
        Image.fromarray(wide).save(buffer, "PNG")
    elif kind == "png-rgba":
        cutout.save(buffer, "PNG")
    elif kind == "png-palette":
        photo.quantize(colors=int(rng.integers(8, 65))).save(buffer, "PNG")
    elif kind == "jpeg-exif":
        orientation = int(rng.choice(sorted(_STORE_ROTATED)))
        exif = Image.Exif()
        exif[0x0112] = orientation
        photo.transpose(_STORE_ROTATED[orientation]).save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    elif kind == "jpeg-cmyk":
        photo.convert("CMYK").save(buffer, "JPEG", quality=90)
    elif kind == "gif-animated":
        blank = Image.new("RGB", photo.size, (255, 255, 255))
        photo.save(buffer, "GIF", save_all=True, append_images=[blank], duration=500, loop=0)
    else:
        raise ValueError(f"unknown photo kind {kind!r}; choose one of {', '.join(KINDS)}")
    return buffer.getvalue()


def make_photo_set(
    images: np.ndarray, labels: np.ndarray, count: int = 500, seed: int = 0, kinds: Sequence[str] = KINDS
) -> list[SyntheticPhoto]:
    """The first `count` digits of `images` (uint8 [N, 28, 28]) as photos, kinds used round-robin."""
    rng = np.random.default_rng(seed)
    photos = []
    for index in range(min(count, len(images))):
        kind = kinds[index % len(kinds)]
        photo, cutout = render_photo(images[index], rng)
        data = encode_photo(photo, cutout, kind, rng)
        label = int(labels[index])
        name = f"{index:05d}-d{label}-{kind}{EXTENSIONS[kind.split('-')[0]]}"
        photos.append(SyntheticPhoto(name, data, label, kind, photo.size))
    return photos


def write_photo_set(directory: str | Path, photos: Sequence[SyntheticPhoto]) -> list[Path]:
    """Write each photo's file into `directory` (created if needed); return the paths in order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for photo in photos:
        path = directory / photo.name
        path.write_bytes(photo.data)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import ArgumentParser

    parser = ArgumentParser(prog="python -m legacy_mnist.synthetic",
                            description="Write MNIST test digits as user-style photos (label in name).")
    parser.add_argument("out_dir", help="directory to write the image files into")
    parser.add_argument("--count", type=int, default=500, help="number of photos (default: 500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be a positive integer, got {args.count}")
    from .dataset import load_split

    split = load_split("test")
    paths = write_photo_set(args.out_dir, make_photo_set(split.images, split.labels, args.count, args.seed))
    print(f"wrote {len(paths)} photos to {args.out_dir}")
    return 0


def cli() -> int:
    from .errors import run_cli

    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(cli())
