"""Render MNIST digits as user-style photos: dark ink on paper, off-centre, any size, many file formats.

Write a set:  python -m legacy_mnist.synthetic OUT_DIR --count 500   (digits from the MNIST test split)
              python -m legacy_mnist.synthetic OUT_DIR --set paper     (ruled/squared paper, shadows, inks)
              python -m legacy_mnist.synthetic OUT_DIR --set numbers   (2-6 digit numbers on one line)

Used by the tests and the benchmark to measure `--preprocess auto` against the book's preprocessing on
images that look like what people photograph or scan, with the true label known. Every photo is drawn
from a seeded generator, so a set is reproducible from (digits, count, seed). Three sets:
`photos` (file formats), `paper` (PAPER_KINDS: notebook paper, shadows, coloured ink, pencil, blank pages)
and `numbers` (written numbers, spacing from touching to wide; the label is the digit string).

Why this is long: three photo sets share one renderer (paper, ink, lighting, file formats); split per set
they would each repeat the paper and ink steps.
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


def write_photo_set(directory: str | Path, photos: Sequence) -> list[Path]:
    """Write each photo's file into `directory` (created if needed); return the paths in order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for photo in photos:
        path = directory / photo.name
        path.write_bytes(photo.data)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------ paper
PAPER_KINDS = (
    "ruled",  # a notebook page: blue rules, red margin line, uneven light
    "squared",  # squared (graph) paper: a blue-grey grid
    "shadow",  # a phone photo with a hard shadow edge across the page
    "gradient",  # strong light fall-off and vignetting
    "coloured-ink",  # red, green or purple ink, on plain or ruled paper
    "blue-pen",  # blue ballpoint on white
    "pencil",  # grey graphite, grainy strokes
)
BLANK_KINDS = ("blank-plain", "blank-ruled", "blank-squared", "blank-shadow")  # pages with no digit
NUMBER_KINDS = ("plain", "ruled", "gradient", "squared")


@dataclass(frozen=True)
class SyntheticPage:
    name: str  # file name, e.g. "00003-d7-ruled.png" or "00003-n4071-ruled.png"
    data: bytes  # the encoded PNG / JPEG
    label: str  # the true digit string ("7", "4071"); "" for a blank page
    kind: str  # one of PAPER_KINDS, BLANK_KINDS or NUMBER_KINDS
    size: tuple  # (width, height)
    gaps: tuple = ()  # numbers: gap between neighbouring digits as a fraction of the digit height (< 0: overlap)


def _crop(digit: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(digit > 0)
    return digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0


def _pen_stroke(crop: np.ndarray, height: float, rng: np.random.Generator, centre: float) -> np.ndarray:
    """An MNIST crop scaled to `height` px tall and thresholded into a pen's sharp-edged coverage."""
    scale = height / crop.shape[0]
    size = (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale)))
    smooth = np.asarray(Image.fromarray(np.pad(crop, 1), "F").resize((size[0] + 2, size[1] + 2), Image.BICUBIC),
                        dtype=np.float32)
    return np.clip((smooth - centre) / 0.12 + 0.5, 0.0, 1.0)


def number_ink(digits: Sequence[np.ndarray], rng: np.random.Generator, height: float,
               gaps: Sequence[float] | None = None) -> tuple[np.ndarray, tuple]:
    """MNIST digits written side by side on one line: ink coverage [H, W] in 0..1 and the gaps used.

    Each digit is scaled to about `height` px (+-10%), sits on a wavy baseline (+-5%) and is followed by a
    gap of `gaps[i]` x height (drawn from -0.12..0.6 when not given; below 0 the boxes overlap, so strokes
    touch or cross). Coverage combines by maximum, as ink on ink does.
    """
    centre = rng.uniform(0.35, 0.6)
    strokes = [_pen_stroke(_crop(d), height * rng.uniform(0.9, 1.1), rng, centre) for d in digits]
    if gaps is None:
        gaps = rng.uniform(-0.12, 0.6, size=max(0, len(digits) - 1))
    gaps = tuple(float(g) for g in gaps)
    pad = int(np.ceil(0.3 * height))
    width = sum(s.shape[1] for s in strokes) + int(sum(max(g, -0.5) * height for g in gaps)) + 2 * pad + 4
    canvas = np.zeros((int(height * 1.4) + 2 * pad, max(width, 8)), dtype=np.float32)
    x = pad
    for index, stroke in enumerate(strokes):
        y = pad + int(round((1.1 * height - stroke.shape[0]) / 2 + rng.uniform(-0.05, 0.05) * height))
        y = int(np.clip(y, 0, canvas.shape[0] - stroke.shape[0]))
        x = int(np.clip(x, 0, canvas.shape[1] - stroke.shape[1]))
        region = canvas[y : y + stroke.shape[0], x : x + stroke.shape[1]]
        np.maximum(region, stroke, out=region)
        if index < len(gaps):
            x += stroke.shape[1] + int(round(max(gaps[index], -0.5) * height))
    ys, xs = np.nonzero(canvas > 0.05)
    return canvas[max(0, ys.min() - 2) : ys.max() + 3, max(0, xs.min() - 2) : xs.max() + 3], gaps


def _paper(rng: np.random.Generator, width: int, height: int, kind: str, spacing: float | None = None) -> np.ndarray:
    """The page without ink: RGB float [H, W, 3] with grain, rules, light and shadow for `kind`."""
    base = kind.replace("blank-", "")
    paper = rng.uniform(0.85, 1.0) + rng.uniform(-0.03, 0.03, size=3)
    noise = rng.normal(0, 1, (height + 2, width + 2)).astype(np.float32)
    grain = sum(noise[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)) / 3.0  # fibres
    rgb = np.broadcast_to(paper, (height, width, 3)) * (1 + rng.uniform(0.005, 0.03) * grain[..., None])
    rgb = np.array(rgb, dtype=np.float32)
    tilt = np.deg2rad(rng.uniform(-1.5, 1.5))  # the page is never quite square to the camera
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    along = yy * np.cos(tilt) - xx * np.sin(tilt)  # distance down the page, across the rules
    across = xx * np.cos(tilt) + yy * np.sin(tilt)
    ink_of_rules = np.array([0.45, 0.6, 0.9]) * rng.uniform(0.75, 1.05) if rng.random() < 0.8 else \
        np.full(3, rng.uniform(0.55, 0.75))
    strength = rng.uniform(0.5, 0.95)

    def lines(coordinate, spacing, thickness, offset):
        distance = np.abs((coordinate - offset + spacing / 2) % spacing - spacing / 2)
        return np.clip(thickness / 2 + 0.5 - distance, 0.0, 1.0)

    if base in ("ruled", "squared"):
        spacing = spacing or rng.uniform(18, 40)
        thickness = rng.uniform(1.0, 2.6)
        cover = lines(along, spacing, thickness, rng.uniform(0, spacing))
        if base == "squared":
            spacing = rng.uniform(12, 30)
            cover = np.maximum(lines(along, spacing, thickness, rng.uniform(0, spacing)),
                               lines(across, spacing, thickness, rng.uniform(0, spacing)))
        mix = (strength * cover)[..., None]
        rgb = rgb * (1 - mix) + ink_of_rules * paper * mix
        if base == "ruled":  # the red margin line, on the left
            margin = lines(across, 10 * width, rng.uniform(1.5, 3.0), rng.uniform(0.04, 0.15) * width)
            mix = (rng.uniform(0.6, 0.9) * margin)[..., None]
            rgb = rgb * (1 - mix) + np.array([0.9, 0.25, 0.3]) * mix
    # Light: a ramp in a random direction and a vignette (uneven light on every page).
    direction = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(direction) * xx / width + np.sin(direction) * yy / height
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    radius = np.hypot(xx / width - 0.5, yy / height - 0.5) / 0.7071
    depth = rng.uniform(0.35, 0.55) if base == "gradient" else rng.uniform(0.05, 0.3)
    light = (1.0 - depth * ramp) * (1.0 - (rng.uniform(0.15, 0.35) if base == "gradient" else 0.1) * radius ** 2)
    if base == "shadow":  # a hard shadow edge: a straight line across the page, a little soft
        angle = rng.uniform(0, np.pi)
        through = np.array([rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height])
        side = (xx - through[0]) * np.sin(angle) - (yy - through[1]) * np.cos(angle)
        soft = rng.uniform(0.5, 3.0)
        light = light * (1.0 - rng.uniform(0.35, 0.6) * np.clip(0.5 + side / (2 * soft), 0.0, 1.0))
    return rgb * light[..., None]


def _ink_colour(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "coloured-ink":
        return [np.array([0.8, 0.1, 0.12]), np.array([0.1, 0.55, 0.2]), np.array([0.45, 0.1, 0.6])][
            int(rng.integers(0, 3))] * rng.uniform(0.8, 1.0)
    if kind == "blue-pen":
        return np.array([0.1, 0.2, 0.7]) * rng.uniform(0.6, 1.1)
    if kind == "pencil":
        return np.full(3, rng.uniform(0.3, 0.5))
    return np.array([0.1, 0.15, 0.5]) * rng.uniform(0.5, 1) if rng.random() < 0.3 else rng.uniform(0, 0.25, size=3)


def render_page(ink: np.ndarray | None, kind: str, rng: np.random.Generator, side: int | None = None,
                line_height: float | None = None) -> Image.Image:
    """Ink coverage [h, w] (or None: a blank page) written on a page of `kind` -> an RGB photo.

    The ink lands anywhere on the page (right of a ruled page's margin line), blurred a little by the camera,
    with sensor noise on top. `line_height`: the ink's digit height, so that ruled paper's rules are spaced
    like a notebook's for that handwriting (0.8-1.6 digit heights apart).
    """
    side = int(side if side is not None else rng.integers(160, 601))
    width = side
    height = int(np.clip(round(side * rng.uniform(0.75, 1.33)), 120, 700))
    if ink is not None:
        grow = max(1.0, ink.shape[1] / (0.92 * width), ink.shape[0] / (0.9 * height))
        if grow > 1.0:  # a long number: a wider page, not a smaller number
            width, height = int(np.ceil(width * grow)), int(np.ceil(height * grow))
    rgb = _paper(rng, width, height, kind, line_height / rng.uniform(0.7, 1.3) if line_height else None)
    if ink is not None:
        colour = _ink_colour(kind, rng)
        alpha = np.zeros((height, width), dtype=np.float32)
        low = int(0.2 * width) if kind == "ruled" and ink.shape[1] < 0.7 * width else 0
        left = int(rng.integers(low, max(low, width - ink.shape[1]) + 1))
        top = int(rng.integers(0, height - ink.shape[0] + 1))
        alpha[top : top + ink.shape[0], left : left + ink.shape[1]] = ink[: height - top, : width - left]
        if kind == "pencil":  # graphite: lighter, grainy coverage
            alpha *= np.clip(rng.uniform(0.55, 0.85) + rng.normal(0, 0.15, alpha.shape), 0, 1).astype(np.float32)
        shade = rgb.mean(axis=-1, keepdims=True) / max(float(rgb.mean()), 1e-6)  # ink lies under the same light
        rgb = rgb * (1 - alpha[..., None]) + colour * np.clip(shade, 0, 1.2) * alpha[..., None]
    rgb = rgb + rng.normal(0.0, rng.uniform(0.003, 0.02), size=rgb.shape)
    photo = Image.fromarray(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    blur = rng.uniform(0.0, 0.0025) * side
    return photo.filter(ImageFilter.GaussianBlur(blur)) if blur > 0.3 else photo


def _encode_page(photo: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        photo.save(buffer, "JPEG", quality=int(rng.integers(70, 96)))
        return buffer.getvalue(), ".jpg"
    photo.save(buffer, "PNG")
    return buffer.getvalue(), ".png"


def make_paper_set(images: np.ndarray, labels: np.ndarray, count: int = 350, seed: int = 0,
                   kinds: Sequence[str] = PAPER_KINDS, blanks: int = 0) -> list[SyntheticPage]:
    """The first `count` digits of `images` written on the pages of `kinds` (round-robin), then `blanks`
    pages with no digit (BLANK_KINDS round-robin, label "")."""
    rng = np.random.default_rng(seed)
    pages = []
    for index in range(min(count, len(images))):
        kind = kinds[index % len(kinds)]
        side = int(rng.integers(160, 601))
        digit_height = rng.uniform(0.25, 0.6) * side
        ink, _ = number_ink([images[index]], rng, digit_height, [])
        photo = render_page(ink, kind, rng, side, digit_height)
        data, suffix = _encode_page(photo, rng)
        label = str(int(labels[index]))
        pages.append(SyntheticPage(f"{index:05d}-d{label}-{kind}{suffix}", data, label, kind, photo.size))
    for index in range(blanks):
        kind = BLANK_KINDS[index % len(BLANK_KINDS)]
        photo = render_page(None, kind, rng, line_height=rng.uniform(20, 60))
        data, suffix = _encode_page(photo, rng)
        pages.append(SyntheticPage(f"{count + index:05d}-blank-{kind}{suffix}", data, "", kind, photo.size))
    return pages


def make_number_set(images: np.ndarray, labels: np.ndarray, count: int = 200, seed: int = 0,
                    lengths: Sequence[int] = (2, 3, 4, 5, 6), kinds: Sequence[str] = NUMBER_KINDS,
                    gap_range: tuple[float, float] = (-0.12, 0.6)) -> list[SyntheticPage]:
    """`count` written numbers of `lengths` digits (round-robin), each digit drawn at random from `images`,
    gaps between digits uniform in `gap_range` digit heights (below 0: touching/overlapping boxes)."""
    rng = np.random.default_rng(seed)
    pages = []
    for index in range(count):
        length = int(lengths[index % len(lengths)])
        kind = kinds[(index // len(lengths)) % len(kinds)]
        chosen = rng.integers(0, len(images), size=length)
        side = int(rng.integers(200, 601))
        digit_height = rng.uniform(0.2, 0.45) * side
        gaps = rng.uniform(*gap_range, size=length - 1)
        ink, gaps = number_ink([images[i] for i in chosen], rng, digit_height, gaps)
        photo = render_page(ink, kind, rng, side, digit_height)
        data, suffix = _encode_page(photo, rng)
        label = "".join(str(int(labels[i])) for i in chosen)
        pages.append(SyntheticPage(f"{index:05d}-n{label}-{kind}{suffix}", data, label, kind, photo.size, gaps))
    return pages


SETS = ("photos", "paper", "numbers")


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import ArgumentParser

    parser = ArgumentParser(prog="python -m legacy_mnist.synthetic",
                            description="Write MNIST test digits as user-style photos (label in name).")
    parser.add_argument("out_dir", help="directory to write the image files into")
    parser.add_argument("--count", type=int, default=500, help="number of photos (default: 500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--set", choices=SETS, default="photos",
                        help="photos: file formats; paper: notebook paper, shadows, inks, pencil (and --blanks "
                             "pages without a digit); numbers: 2-6 digit numbers (default: photos)")
    parser.add_argument("--blanks", type=int, default=0, help="--set paper: also this many blank pages (default: 0)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be a positive integer, got {args.count}")
    if args.blanks < 0:
        parser.error(f"--blanks must be >= 0, got {args.blanks}")
    from .dataset import load_split

    split = load_split("test")
    if args.set == "paper":
        made = make_paper_set(split.images, split.labels, args.count, args.seed, blanks=args.blanks)
    elif args.set == "numbers":
        made = make_number_set(split.images, split.labels, args.count, args.seed)
    else:
        made = make_photo_set(split.images, split.labels, args.count, args.seed)
    paths = write_photo_set(args.out_dir, made)
    print(f"wrote {len(paths)} {'photos' if args.set == 'photos' else args.set + ' images'} to {args.out_dir}")
    return 0


def cli() -> int:
    from .errors import run_cli

    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(cli())
