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
Why this is long: one pipeline (photo -> MNIST-like digit) whose steps read in order; each step is a small
function used only here.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from .errors import DataError
from .inference.image_files import DEFAULT_MAX_PIXELS, first_line, open_image

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
# open_image (the format allow-list, bounded decoding) lives in legacy_mnist.inference.image_files.


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
    unique, inverse = np.unique(np.concatenate([[0], labels.reshape(-1)]), return_inverse=True)
    return inverse[1:].reshape(labels.shape), len(unique) - 1  # 0 prepended: a mask without background too


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
    area = np.bincount(labels.reshape(-1), minlength=count + 1)[1:]
    fill = np.array([area[i] / max(1, (b[1] - b[0]) * (b[3] - b[2])) for i, b in enumerate(boxes)])
    height_c, width_c = labels.shape
    along = np.zeros(count)
    for i, (top, bottom, left, right) in enumerate(boxes):
        inside = labels[top:bottom, left:right] == i + 1
        lines = [inside[0] if top == 0 else None, inside[-1] if bottom == height_c else None,
                 inside[:, 0] if left == 0 else None, inside[:, -1] if right == width_c else None]
        along[i] = max([line.mean() for line in lines if line is not None], default=0.0)
    # A solid patch lying along the edge of the picture is a shadow's corner or the table, not a stroke
    # (a digit that runs off the picture touches the edge with a stroke's end).
    solid_edge = on_border & (fill > 0.4) & (along > 0.6) & (min(height, width) >= RULE_MIN_SIDE)
    if solid_edge.all():
        return np.zeros_like(ink, dtype=bool)
    mass = np.where(solid_edge, 0.0, mass)
    # A blob touching the border is usually the paper's edge or a shadow: rank it lower, not out.
    order = np.argsort(-(mass * np.where(on_border, 0.25, 1.0)))
    main = order[0]
    kept = [main]
    top, bottom, left, right = boxes[main]
    for index in order[1:]:
        if solid_edge[index]:
            continue
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


# ------------------------------------------------------------------------------------------- paper
def to_rgb(image: Image.Image, shape: tuple) -> np.ndarray | None:
    """A colour image -> float32 RGB [H, W, 3] in [0, 1] of `shape` (alpha composited onto white); None for a
    grayscale one (its rules can only be told from ink by shape and darkness)."""
    if image.mode in ("L", "LA", "La", "1", "I", "F") or image.mode.startswith("I;16"):
        return None
    if image.mode in ("P", "PA") and not image.palette or image.mode == "P" and image.palette.mode == "L":
        return None
    if image.mode in ("RGBA", "RGBa", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    rgb = image.convert("RGB")
    if rgb.size != (shape[1], shape[0]):
        rgb = rgb.resize((shape[1], shape[0]), Image.BOX)
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _running_extreme(a: np.ndarray, size: int, axis: int, take=np.maximum) -> np.ndarray:
    """Running max (or min with take=np.minimum) over `size` (odd) samples along `axis`, edges extended.

    Van Herk / Gil-Werman: prefix and suffix extremes within blocks of `size`, so the cost does not grow
    with the window (a 128-px window on a 512-px page costs what a 3-px one does).
    """
    if size <= 1:
        return a
    radius = size // 2
    moved = np.moveaxis(a, axis, 0)
    count = moved.shape[0]
    extra = -(count + 2 * radius) % size
    padded = np.pad(moved, ((radius, radius + extra),) + ((0, 0),) * (moved.ndim - 1), mode="edge")
    blocks = padded.reshape((-1, size) + padded.shape[1:])
    prefix = take.accumulate(blocks, axis=1).reshape(padded.shape)
    suffix = take.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(padded.shape)
    return np.moveaxis(take(suffix[:count], prefix[size - 1 : size - 1 + count]), 0, axis)


def _closing(gray: np.ndarray, size: int) -> np.ndarray:
    """Grey closing with a size x size square: dark marks narrower than `size` filled with the paper around
    them; larger dark areas (a shadow, the table beyond the page) and every edge of them kept exactly."""
    # Beyond the edges the page is extrapolated (odd reflection): light falling off towards a corner then
    # keeps falling, instead of turning into a valley the closing would fill (a false ink rim).
    if min(gray.shape) < 2 * RULE_MIN_SIDE:  # a crop: its strokes run off the edge, the light does not
        pad_y = pad_x = 0
    else:
        pad_y, pad_x = min(size, gray.shape[0] - 1), min(size, gray.shape[1] - 1)
    # Never lighter than the edge itself: a digit near the edge must not get a brighter page beyond it.
    wide = np.minimum(np.pad(gray, ((pad_y, pad_y), (pad_x, pad_x)), mode="reflect", reflect_type="odd"),
                      np.pad(gray, ((pad_y, pad_y), (pad_x, pad_x)), mode="edge"))
    bright = _running_extreme(_running_extreme(wide, size, 0), size, 1)
    closed = _running_extreme(_running_extreme(bright, size, 0, np.minimum), size, 1, np.minimum)
    return closed[pad_y : pad_y + gray.shape[0], pad_x : pad_x + gray.shape[1]]


def _median_background(gray: np.ndarray) -> np.ndarray:
    """The page's brightness whatever the ink's polarity: a median over half of the short side, on a
    coarse copy (the ink is a minority in any such window; shadow edges survive a median)."""
    if min(gray.shape) < 2 * RULE_MIN_SIDE:  # a crop of one digit, which may fill half of any window in it
        return np.full(gray.shape, np.median(gray), dtype=np.float32)
    coarse = _shrink(gray, 64)
    size = max(3, (min(coarse.shape) // 2) | 1)
    radius = size // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(coarse, radius, mode="edge"), (size, size))
    median = np.median(windows.reshape(coarse.shape + (-1,)), axis=-1).astype(np.float32)
    if median.shape == gray.shape:
        return median
    return np.asarray(Image.fromarray(median, "F").resize((gray.shape[1], gray.shape[0]), Image.BILINEAR))


def _light_ink(gray: np.ndarray) -> bool:
    """True when the ink is lighter than the paper (MNIST's own white-on-black images, chalk).

    Ink is the minority: whichever tail (dark or bright) lies farther from the page's own brightness is the
    ink. The page is the local median, so a shadow covering half of the photo does not pass for paper.
    """
    flat = _box_blur3(gray - _median_background(gray))
    low, median, high = np.percentile(flat, [0.05, 50, 99.95])
    return (median - low) < (high - median)


def _ink_on_paper(gray: np.ndarray) -> np.ndarray:
    """Dark ink on lighter paper -> ink strength in 0..1: how much darker than its own paper each pixel is.

    The paper is the grey closing over a quarter of the short side (more than any stroke is wide), so it
    follows shadows with hard edges, gradients and vignetting; the ratio makes ink in a shadow as strong as
    ink in the light. A floor on the paper's brightness keeps the black beyond a page's edge from
    amplifying sensor noise into ink.
    """
    size = max(5, (min(gray.shape) // 4) | 1)
    ink = _darkness(gray, size)
    # Then again with a window of three stroke widths: a shadow's corner narrower than a quarter of the page
    # is kept as paper, not filled in as ink.
    width = _run_width(ink > 0.5 * max(float(ink.max()), MIN_CONTRAST))
    if width and 3 * width + 1 < size:
        ink = _darkness(gray, max(5, int(3 * width + 1) | 1))
    return ink


def _darkness(gray: np.ndarray, size: int) -> np.ndarray:
    # The closing's maxima ride on the paper's grain: close a blurred copy, then take the typical paper
    # pixel (the median: ink is a minority) as zero.
    paper = _closing(_box_blur3(_box_blur3(gray)), size)
    ratio = (paper - gray) / np.maximum(paper, 0.25)
    return (ratio - np.median(ratio)).astype(np.float32)


def _run_width(mask: np.ndarray) -> float:
    """A stroke width estimate: the median length of the shorter of each inked pixel's horizontal and
    vertical runs (a shadow's area gives long runs both ways; strokes give a short one)."""
    if mask.sum() < 8:
        return 0.0

    def run_lengths(m):
        # Length of the run of True each pixel belongs to, along axis 1.
        padded = np.pad(m, ((0, 0), (1, 1))).astype(np.int8)
        change = np.diff(padded, axis=1)
        starts = np.argwhere(change == 1)
        ends = np.argwhere(change == -1)
        lengths = np.zeros(m.shape, dtype=np.int32)
        for (row, start), (_, end) in zip(starts, ends):
            lengths[row, start:end] = end - start
        return lengths

    shorter = np.minimum(run_lengths(mask), run_lengths(mask.T).T)
    return float(np.median(shorter[mask]))


FLAT_RATIO = 0.25  # a mark under a quarter as high as it is wide is a line (or several digits), not a digit
MIN_SOLID_SHARE = 0.5  # at least half of a digit's ink lies in pieces of >= 5% of it (not in specks)
TEXTURE_SIGMAS = 5.0  # ink must stand this many spreads of the paper's texture above the paper
RULE_ANGLES = np.deg2rad(np.arange(-3.0, 3.01, 0.5))  # a page photographed a little askew
RULE_COVERAGE = 0.6  # a rule is inked along at least this share of the page's width (a digit's stroke is not)
RULE_MIN_SIDE = 64  # smaller pictures are crops of one digit: a stroke across them is no rule
RULE_INK = 0.06  # ink strength counted as part of a printed rule (they are faint: 0.1-0.5)


def _rule_rows(mask: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The best skew angle and, at it, the inked length of each sheared row and each pixel's row index."""
    height, width = mask.shape
    ys, xs = np.mgrid[0:height, 0:width]
    best = None
    for angle in RULE_ANGLES:
        rows = np.rint(ys - xs * np.tan(angle)).astype(np.int64)
        rows -= rows.min()
        profile = np.bincount(rows[mask], minlength=rows.max() + 1)
        score = float(np.sum(profile.astype(np.float64) ** 2))
        if best is None or score > best[0]:
            best = (score, angle, profile, rows)
    return best[1], best[2], best[3]


def _remove_horizontal_rules(ink: np.ndarray, rgb: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Find long, straight, thin lines across the page and take them out of `ink`; keep pen crossing them.

    A row (at the page's skew) is a rule when faint-or-darker ink covers >= RULE_COVERAGE of the width, in
    both halves. On those rows a pixel stays ink when it is clearly darker than the rule, or (colour
    photos) of another hue; the pixels taken out where a stroke crossed are then filled from the stroke above
    and below, so a '7' written over a rule is not cut in two.
    """
    height, width = ink.shape
    spread = 1.4826 * float(np.median(np.abs(ink - np.median(ink))))
    mask = ink > max(RULE_INK, 3.0 * spread)
    if not mask.any() or min(height, width) < RULE_MIN_SIDE:
        return ink, np.zeros(ink.shape, dtype=bool)
    angle, profile, rows = _rule_rows(mask)
    left = np.bincount(rows[:, : width // 2][mask[:, : width // 2]], minlength=len(profile))
    right = profile - left
    is_rule = (profile >= RULE_COVERAGE * width) & (left >= 0.4 * RULE_COVERAGE * width) \
        & (right >= 0.4 * RULE_COVERAGE * width)
    if not is_rule.any():
        return ink, np.zeros(ink.shape, dtype=bool)
    # A rule's soft edges: neighbouring rows half as covered belong to it too.
    edge = profile >= 0.5 * RULE_COVERAGE * width
    grown = is_rule | (edge & (np.roll(is_rule, 1) | np.roll(is_rule, -1)))
    thickness = grown.sum() / max(int(np.sum(np.diff(np.concatenate([[0], grown.astype(np.int8)])) == 1)), 1)
    rule_pixels = is_rule[rows] & mask
    level = float(np.percentile(ink[rule_pixels], 90))  # the rules' darkest ink, their core
    grown = grown | np.roll(grown, 1) | np.roll(grown, -1)  # and the blurred fringe either side
    on_rule = grown[rows]
    keep = ink > max(1.5 * level, level + 0.15)  # darker than any rule: the pen
    if rgb is not None:  # pencil over a blue rule: as faint, but grey (on the rule's core: its fringe is greyish)
        chroma = rgb / np.maximum(rgb.sum(axis=-1, keepdims=True), 1e-3)
        rule_chroma = np.median(chroma[rule_pixels], axis=0)
        keep |= (np.abs(chroma - rule_chroma).sum(axis=-1) > 0.12) & (ink > 0.5 * level) & is_rule[rows]
    removed = on_rule & ~keep
    out = np.where(removed, 0.0, ink).astype(np.float32)
    # Bridge the gaps: a removed pixel with ink above and below it (within a rule's width) was a crossing.
    reach = int(np.ceil(thickness)) + 3
    above = np.zeros_like(out)
    below = np.zeros_like(out)
    for step in range(1, reach + 1):
        above[step:] = np.maximum(above[step:], np.where(removed[:-step], 0.0, out[:-step]))
        below[:-step] = np.maximum(below[:-step], np.where(removed[step:], 0.0, out[step:]))
    bridge = removed & (above > 2 * RULE_INK) & (below > 2 * RULE_INK)
    out[bridge] = np.minimum(above, below)[bridge]
    return out, removed & ~bridge


def remove_rules(ink: np.ndarray, rgb: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Take ruled and squared paper's printed lines (horizontal rules, margin lines, grids) out of `ink`.

    Returns the cleaned ink, which directions had rules (("horizontal", "vertical") for squared paper) and
    the mask of the pixels taken out.
    """
    found = []
    ink, removed = _remove_horizontal_rules(ink, rgb)
    if removed.any():
        found.append("horizontal")
    turned, across = _remove_horizontal_rules(ink.T, None if rgb is None else rgb.transpose(1, 0, 2))
    if across.any():
        ink = np.ascontiguousarray(turned.T)
        removed = removed | across.T
        found.append("vertical")
    return ink, tuple(found), removed


@dataclass(frozen=True)
class PageInk:
    """A page reduced to its ink: `soft` float32 [H, W] in 0..1 (paper, rules, shadows and texture gone)."""

    soft: np.ndarray
    rules: tuple = ()  # the directions in which printed rules were found and removed
    inverted: bool = False  # light ink on a dark page (MNIST's own images)


def page_ink(image: Image.Image) -> PageInk:
    """A photo or scan (any mode, any size) -> its ink, at most WORK_SIDE px: the part shared by the one-digit
    reader (`auto_preprocess`) and the number reader (`legacy_mnist.inference.segment`). Raises NoDigitError when no ink
    stands out from the page."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose an otherwise good image
        pass
    gray = _shrink(to_gray(image), WORK_SIDE)
    rgb = to_rgb(image, gray.shape)
    inverted = _light_ink(gray)
    if inverted:
        gray = 1.0 - gray
        rgb = None if rgb is None else 1.0 - rgb
    signed = _ink_on_paper(gray)
    ink, rules, removed = remove_rules(np.clip(signed, 0.0, 1.0), rgb)
    # The paper's texture (grain, JPEG blocks, sensor noise) as seen through the 3x3 blur the ink test uses:
    # a robust spread of the signed map (its paper pixels scatter around 0), rules left out.
    # Only the lighter-than-paper side: ink lies on the other, and fills half of a tight crop.
    # Away from rules and ink (a sharpened or bicubic-scaled picture rings lighter than paper beside strokes).
    near = removed | _dilate((signed > 0.25).astype(np.uint8), 5).astype(bool)
    paper = _box_blur3(np.where(removed, 0.0, signed))[~near]
    lighter = -paper[paper < 0]
    # A tight crop leaves too little paper to judge its texture by: then contrast alone decides.
    texture = float(np.median(lighter)) / 0.6745 if lighter.size >= 0.02 * signed.size + 16 else 0.0
    if min(signed.shape) < 2 * RULE_MIN_SIDE:  # a crop or a scan of one digit, not a photo of paper
        texture = 0.0
    smooth = _box_blur3(ink)
    peak = float(smooth.max())
    if peak < MIN_CONTRAST:
        raise NoDigitError(f"no digit found (no ink: contrast {max(peak, 0.0):.3f} < {MIN_CONTRAST})")
    # Typical ink level = median of clearly inked pixels; the stretch maps paper noise (< 20% of it)
    # to 0 and the ink body to 1, leaving a soft edge that the resize turns into MNIST's grey rim.
    # Paper grain, JPEG blocks and sensor noise: what the blurred ink reaches on the paper at large.
    noise = TEXTURE_SIGMAS * texture
    if peak < max(MIN_CONTRAST, 2.0 * noise):
        raise NoDigitError(f"no digit found (no ink stands out of the paper's texture: contrast {peak:.3f}, "
                           f"texture {noise:.3f})")
    level = float(np.median(ink[smooth > 0.5 * peak]))
    level = max(level, 0.6 * peak)
    floor = max(0.2 * level, noise)
    soft = np.clip((ink - floor) / max(level - floor, 1e-6), 0.0, 1.0)
    return PageInk(soft.astype(np.float32), rules, inverted)


def auto_preprocess(image: Image.Image) -> np.ndarray:
    """A photo or scan of one handwritten digit (any mode, any size) -> MNIST-like uint8 [28, 28].

    Raises NoDigitError when there is no ink to find, or only specks.
    """
    soft = page_ink(image).soft
    soft = soft * _digit_mask(soft)
    ys, xs = np.nonzero(soft > 0.05)
    if ys.size == 0:
        raise NoDigitError("no digit found (only noise)")
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if max(bottom - top, right - left) < max(4, MIN_DIGIT_FRACTION * min(soft.shape)):
        raise NoDigitError(f"no digit found (largest ink mark is {max(bottom - top, right - left)} px, a speck)")
    patch = soft[top:bottom, left:right]
    if min(soft.shape) >= 2 * RULE_MIN_SIDE and patch.shape[0] < FLAT_RATIO * patch.shape[1]:
        raise NoDigitError(f"no digit found (only a flat mark, {patch.shape[1]}x{patch.shape[0]} px: a line left of "
                           "the paper, or a whole number - read those with --number)")
    check_strokes(patch)
    return ink_to_mnist(patch)


def check_strokes(patch: np.ndarray) -> None:
    """Raise NoDigitError unless most of the ink in `patch` forms strokes: written digits are a few solid
    pieces, what is left of a page's texture or a rule's fringe is a scatter of specks (each a tiny share)."""
    strong = int((patch > 0.5).sum())
    if strong < 0.5 * max(patch.shape):  # a stroke as long as the digit, at least
        raise NoDigitError(f"no digit found (only faint marks: {strong} px of ink over {max(patch.shape)} px)")
    labels, count = _label(_dilate((patch > 0.2).astype(np.uint8), 3).astype(bool))  # pencil grain joined
    if count == 0:
        raise NoDigitError("no digit found (only noise)")
    sizes = np.bincount(labels.reshape(-1))[1:]
    solid = float(sizes[sizes >= 0.05 * sizes.sum()].sum() / sizes.sum())
    if solid < MIN_SOLID_SHARE:
        raise NoDigitError(f"no digit found (only scattered specks: {count} pieces, the largest "
                           f"{100 * sizes.max() / sizes.sum():.0f}% of the ink)")


def ink_to_mnist(patch: np.ndarray) -> np.ndarray:
    """A [0, 1] ink patch cropped to one digit (any size) -> MNIST's uint8 28x28: longest side 20 px, centre
    of mass at 14, 14, thin pens thickened."""
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
