"""Turn an image file into an MNIST-like digit: uint8 28x28, ink 255 on background 0, centred.

Try it:  python -m legacy_mnist.infer --preprocess auto photo.jpg   (or `--preprocess book` for parity)

MNIST was made from scanned binary digits: each was scaled so its longest side is 20 px (aspect kept,
anti-aliased, which gives the grey edges) and placed in a 28x28 field by its centre of mass. `auto` redoes
that for photos and scans: EXIF rotation, alpha composited onto white paper, grayscale (16-bit aware), the
paper's brightness modelled as a smooth surface and removed (uneven lighting), inverted when the ink is
darker than the paper, noise thresholded away, dust dropped, strokes thickened when a thin pen would vanish
at 20 px, then MNIST's 20-px box and centre of mass. A page without ink is an error, not a guess.
`book` is the PaddlePaddle book's `load_image` (grayscale, squash to 28x28), kept for parity.
Both return uint8; `legacy_mnist.normalize` maps that to the model's [-1, 1] input, as in training.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from .errors import DataError
from .image_files import DEFAULT_MAX_PIXELS, first_line, open_image

PREPROCESS_MODES = ("auto", "book")
FIELD = 28  # MNIST's image size
BOX = 20  # MNIST's digit box: the longest side of the ink
CENTRE = 14.0  # MNIST's centre of mass in pixel-index coordinates (mean over the test set: 13.99, 14.01)
WORK_SIDE = 512  # big photos are analysed at this size: the digit ends up 20 px anyway
MIN_CONTRAST = 0.07  # ink must differ from the paper by 7% of full scale (blank pages with sensor noise: < 0.06)
MIN_DIGIT_FRACTION = 0.04  # an ink blob smaller than 4% of the image's short side is dust, not a digit
# MNIST's stroke width at the 20-px scale (measured with `_stroke_width`): median 2.0, 5th percentile 1.3.
THIN_STROKE = 1.0  # thinner strokes than this (thin pen, big photo) are thickened...
TARGET_STROKE = 1.8  # ...to about this


class NoDigitError(DataError):
    """The image holds no ink that could be a digit (blank page, flat colour, a speck of dust)."""


# ---------------------------------------------------------------------------------------------- opening
# open_image (the format allow-list, bounded decoding) lives in legacy_mnist.image_files.


# ------------------------------------------------------------------------------------------------ book
def book_preprocess(image: Image.Image) -> np.ndarray:
    """The PaddlePaddle book's `load_image`: convert('L'), resize to 28x28 with ANTIALIAS (= LANCZOS).

    No EXIF rotation, no alpha handling, no inversion: dark ink on white paper reaches the model as a
    white digit background, which it never saw in training. Kept for parity with the tutorial.
    """
    return np.asarray(image.convert("L").resize((FIELD, FIELD), Image.LANCZOS), dtype=np.uint8)


# ------------------------------------------------------------------------------------------------ auto
def to_gray(image: Image.Image) -> np.ndarray:
    """Any PIL image -> float32 luminance in [0, 1], transparency composited onto white paper."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        peak = float(values.max()) if values.size else 0.0
        # 32-bit modes hold 16-bit data from some PNG/TIFF readers and 8-bit data from conversions.
        scale = 1.0 if mode == "F" and peak <= 1.0 else (255.0 if peak <= 255.0 else 65535.0)
        return np.clip(values / scale, 0.0, 1.0)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode in ("P", "L", "RGB", "1") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    elif mode not in ("L", "RGB"):
        image = image.convert("RGB")  # CMYK, palette, YCbCr, LAB, HSV, 1-bit
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _shrink(gray: np.ndarray, side: int) -> np.ndarray:
    """Area-average `gray` so its longest side is at most `side` (no-op when already smaller)."""
    height, width = gray.shape
    if max(height, width) <= side:
        return gray
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(gray, "F").resize(size, Image.BOX), dtype=np.float32)


def _box_blur3(a: np.ndarray) -> np.ndarray:
    padded = np.pad(a, 1, mode="edge")
    out = np.zeros_like(a)
    for dy in range(3):
        for dx in range(3):
            out += padded[dy : dy + a.shape[0], dx : dx + a.shape[1]]
    return out / 9.0


def _ink_polarity(gray: np.ndarray) -> np.ndarray:
    """Return the image as ink strength (ink high, paper low): inverted when ink is darker than paper.

    Ink is the minority: whichever tail (dark or bright) lies farther from the median is the ink.
    The tails are taken from a 3x3-blurred copy so single noisy pixels do not decide.
    """
    smooth = _box_blur3(gray)
    low, median, high = np.percentile(smooth, [0.05, 50, 99.95])
    return 1.0 - gray if (median - low) >= (high - median) else gray


def _background_surface(strength: np.ndarray) -> np.ndarray:
    """Fit a smooth quadratic surface to the paper (uneven lighting, vignetting), ignoring the ink."""
    small = _shrink(strength, 64)
    height, width = small.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    yy, xx = yy / max(height - 1, 1) - 0.5, xx / max(width - 1, 1) - 0.5
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)
    values = small.reshape(-1).astype(np.float64)
    keep = np.ones(values.shape, dtype=bool)
    coef = np.zeros(6)
    for _ in range(4):
        if keep.sum() < 6:
            break
        # Normal equations on a 6x6 system: lstsq's SVD on 4096x6 costs ~100x more for the same answer.
        chosen = basis[keep]
        gram = chosen.T @ chosen + 1e-9 * np.eye(6)
        coef = np.linalg.solve(gram, chosen.T @ values[keep])
        residual = values - basis @ coef
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep]))) + 1e-4
        # Ink is the positive outlier; the floor keeps smooth paper shading (a few % of full scale) in.
        keep = residual < np.median(residual[keep]) + max(2.5 * spread, 0.03)
    height, width = strength.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / max(height - 1, 1) - 0.5, xx / max(width - 1, 1) - 0.5
    c = coef.astype(np.float32)
    surface = c[0] + c[1] * xx + c[2] * yy + c[3] * xx * xx + c[4] * xx * yy + c[5] * yy * yy
    # Where the paper shows, the surface may not dip below it: a bowl fitted under a big digit would
    # otherwise turn the corners of the page into ink.
    floor, ceiling = (values[keep].min(), values[keep].max()) if keep.any() else (values.min(), values.max())
    return np.clip(surface, floor, ceiling)


def _max_pool(mask: np.ndarray, factor: int) -> np.ndarray:
    """Shrink a boolean mask by an integer factor, keeping a cell if any pixel in it is set."""
    if factor <= 1:
        return mask
    height, width = mask.shape
    padded = np.pad(mask, ((0, -height % factor), (0, -width % factor)))
    return padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).any(axis=(1, 3))


def _dilate(a: np.ndarray, size: int) -> np.ndarray:
    """Grey-level dilation with a size x size square (separable running maximum)."""
    if size <= 1:
        return a
    radius = size // 2
    out = np.pad(a, radius, mode="constant")
    out = np.lib.stride_tricks.sliding_window_view(out, size, axis=0).max(axis=-1)
    out = np.lib.stride_tricks.sliding_window_view(out, size, axis=1).max(axis=-1)
    return out[: a.shape[0], : a.shape[1]] if out.shape != a.shape else out


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected component labels of a small boolean mask (0 = background), by label propagation."""
    height, width = mask.shape
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0).astype(np.int64)
    if not mask.any():
        return labels, 0
    big = mask.size + 1
    while True:
        padded = np.pad(np.where(mask, labels, big), 1, constant_values=big)
        best = padded[1:-1, 1:-1].copy()
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                np.minimum(best, padded[dy : dy + height, dx : dx + width], out=best)
        best = np.where(mask, best, 0)
        # Pointer jumping: follow each label to its label's label, so long strokes converge quickly.
        flat = np.concatenate([[0], best.reshape(-1)])
        jumped = flat[best]
        if np.array_equal(jumped, labels):
            break
        labels = jumped
    unique, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape), len(unique) - 1


def _digit_mask(ink: np.ndarray) -> np.ndarray:
    """Keep the digit's connected pieces and drop dust, border shadows and far-away specks.

    Works on a grid of at most 128 px (max-pooled so thin strokes stay connected) and returns a mask at
    the resolution of `ink`.
    """
    height, width = ink.shape
    factor = max(1, int(np.ceil(max(height, width) / 128)))
    coarse = _dilate(_max_pool(ink > 0, factor).astype(np.uint8), 3).astype(bool)  # bridge pen gaps
    labels, count = _label(coarse)
    if count == 0:
        return np.zeros_like(ink, dtype=bool)
    pooled_mass = np.pad(ink, ((0, -height % factor), (0, -width % factor)))
    pooled_mass = pooled_mass.reshape(labels.shape[0], factor, labels.shape[1], factor).sum(axis=(1, 3))
    mass = np.bincount(labels.reshape(-1), weights=pooled_mass.reshape(-1), minlength=count + 1)[1:]
    boxes = []
    for index in range(1, count + 1):
        ys, xs = np.nonzero(labels == index)
        boxes.append((ys.min(), ys.max() + 1, xs.min(), xs.max() + 1))
    on_border = np.array(
        [b[0] == 0 or b[2] == 0 or b[1] == labels.shape[0] or b[3] == labels.shape[1] for b in boxes]
    )
    # A blob touching the border is usually the paper's edge or a shadow: rank it lower, not out.
    order = np.argsort(-(mass * np.where(on_border, 0.25, 1.0)))
    main = order[0]
    kept = [main]
    top, bottom, left, right = boxes[main]
    for index in order[1:]:
        if mass[index] < 0.03 * mass[main]:
            break
        extent = max(bottom - top, right - left)
        near = (
            boxes[index][0] < bottom + 0.5 * extent and boxes[index][1] > top - 0.5 * extent
            and boxes[index][2] < right + 0.5 * extent and boxes[index][3] > left - 0.5 * extent
        )
        if near or mass[index] >= 0.3 * mass[main]:
            kept.append(index)
            top, bottom = min(top, boxes[index][0]), max(bottom, boxes[index][1])
            left, right = min(left, boxes[index][2]), max(right, boxes[index][3])
    keep_coarse = np.isin(labels, np.array(kept) + 1)
    full = np.repeat(np.repeat(keep_coarse, factor, axis=0), factor, axis=1)
    return full[:height, :width]


def _stroke_width(patch: np.ndarray) -> float:
    """Mean stroke width in pixels of a [0, 1] ink patch: twice the area over the perimeter."""
    binary = patch > 0.5
    area = binary.sum()
    perimeter = np.abs(np.diff(binary.astype(np.int8), axis=0)).sum() + np.abs(
        np.diff(binary.astype(np.int8), axis=1)
    ).sum()
    perimeter += binary[0].sum() + binary[-1].sum() + binary[:, 0].sum() + binary[:, -1].sum()
    return float(2.0 * area / perimeter) if perimeter else 0.0


def _resize(patch: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width <= patch.shape[1] and height <= patch.shape[0]
    method = Image.BOX if shrinking else Image.BICUBIC  # area average = anti-aliasing, like MNIST's
    out = Image.fromarray(patch.astype(np.float32), "F").resize((width, height), method)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def auto_preprocess(image: Image.Image) -> np.ndarray:
    """A photo or scan of one handwritten digit (any mode, any size) -> MNIST-like uint8 [28, 28].

    Raises NoDigitError when there is no ink to find.
    """
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose an otherwise good image
        pass
    gray = _shrink(to_gray(image), WORK_SIDE)
    strength = _ink_polarity(gray)
    ink = strength - _background_surface(strength)
    smooth = _box_blur3(ink)
    peak = float(smooth.max())
    if peak < MIN_CONTRAST:
        raise NoDigitError(f"no digit found (no ink: contrast {max(peak, 0.0):.3f} < {MIN_CONTRAST})")
    # Typical ink level = median of clearly inked pixels; the stretch maps paper noise (< 20% of it)
    # to 0 and the ink body to 1, leaving a soft edge that the resize turns into MNIST's grey rim.
    level = float(np.median(ink[smooth > 0.5 * peak]))
    level = max(level, 0.6 * peak)
    floor = 0.2 * level
    soft = np.clip((ink - floor) / max(level - floor, 1e-6), 0.0, 1.0)
    soft *= _digit_mask(soft)
    ys, xs = np.nonzero(soft > 0.05)
    if ys.size == 0:
        raise NoDigitError("no digit found (only noise)")
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if max(bottom - top, right - left) < max(4, MIN_DIGIT_FRACTION * min(gray.shape)):
        raise NoDigitError(f"no digit found (largest ink mark is {max(bottom - top, right - left)} px, a speck)")
    patch = soft[top:bottom, left:right]
    longest = max(patch.shape)
    # A thin pen on a big photo would shrink to a faint hairline at 20 px: thicken it here, at full size.
    width_out = _stroke_width(patch) * BOX / longest
    if 0 < width_out < THIN_STROKE:
        grow = int(round((TARGET_STROKE - width_out) * longest / BOX))
        size = grow + 1 - grow % 2  # an odd square adds size - 1 pixels to the width
        if size >= 3:
            patch = _dilate(np.pad(patch, size // 2), size)
    height, width = patch.shape
    scale = BOX / max(height, width)
    digit = _resize(patch, max(1, round(width * scale)), max(1, round(height * scale)))
    return place_by_centre_of_mass(digit)


def place_by_centre_of_mass(digit: np.ndarray) -> np.ndarray:
    """Put a [0, 1] digit patch (at most 28x28) into MNIST's 28x28 field with its centre of mass at 14, 14."""
    height, width = digit.shape
    total = float(digit.sum())
    yy, xx = np.mgrid[0:height, 0:width]
    com_y = float((digit * yy).sum() / total) if total > 0 else (height - 1) / 2
    com_x = float((digit * xx).sum() / total) if total > 0 else (width - 1) / 2
    top = int(np.clip(round(CENTRE - com_y), 0, FIELD - height))
    left = int(np.clip(round(CENTRE - com_x), 0, FIELD - width))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return np.rint(field * 255.0).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- entry
def preprocess_image(image: Image.Image, mode: str = "auto") -> np.ndarray:
    """A decoded PIL image -> uint8 [28, 28] with `mode` 'auto' or 'book' (raises NoDigitError, DataError)."""
    if mode == "auto":
        return auto_preprocess(image)
    if mode == "book":
        return book_preprocess(image)
    raise ValueError(f"unknown preprocess mode {mode!r}; choose one of {', '.join(PREPROCESS_MODES)}")


def preprocess_file(path: str | os.PathLike, mode: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An image file -> uint8 [28, 28]; every failure is a DataError whose message starts with the path."""
    image = open_image(path, max_pixels, work_side=WORK_SIDE if mode == "auto" else None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on stderr about odd EXIF blocks: not the user's output
            return preprocess_image(image, mode)
    except DataError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - one odd image is that file's error, never the end of the run
        raise DataError(f"{path}: cannot convert image ({first_line(exc)})") from None
    finally:
        image.close()
