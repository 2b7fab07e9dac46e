"""Training-time augmentation: new handwriting from the same 55,000 digits, a whole batch at a time in numpy.

Try it:  python -m legacy_mnist.train --model vgg --augment full     (vgg's default; `none` for the book's nets)

Each training batch is redrawn before it is fed, from a generator seeded by (seed, pass, batch), so a run -
and a run resumed from a checkpoint - sees the same images. What `full` draws, per image:
- stroke width: part of a 3x3 cross dilation or erosion (thin and thick pens);
- geometry: rotation, scale, anisotropic stretch, shear and shift, plus an elastic distortion (a smooth
  random displacement field, Simard et al. 2003), applied as one bilinear resampling;
- low resolution: for some images, an area average down to 9..13 px per side, quantised to 16 levels
  like UCI's 8x8 counts, back up (bilinear or nearest) and contrast-stretched as `preprocess` stretches an
  upscaled thumbnail: thick, hard-edged, blocky strokes, some broken where a cell lost part of its ink,
  like UCI's digits after preprocessing;
- blur: part of a 3x3 Gaussian.
`affine` is the geometry without the elastic field (the usual MNIST recipe). Every operation is a few
vectorised passes over the [B, 28, 28] batch (about 5 ms for 128 images on one core, docs/benchmarks.md),
so it costs a few percent of a vgg training step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AUGMENTS = ("none", "affine", "full")
SIDE = 28
CENTRE = (SIDE - 1) / 2.0


@dataclass(frozen=True)
class AugmentSpec:
    rotate_deg: float = 12.0  # uniform in +-
    scale: float = 0.12  # isotropic zoom 1 +- this
    stretch: float = 0.12  # extra x/y zoom 1 +- this (wide UCI ones, narrow MNIST ones)
    shear: float = 0.15  # x += shear * y
    shift_px: float = 2.0
    elastic_px: float = 0.0  # std of the displacement at the coarse grid's nodes
    elastic_grid: int = 4  # nodes per side of the displacement field (smoothness)
    stroke_p: float = 0.0  # share of images whose stroke width changes
    thin: float = 0.6  # most of an erosion step when thinning (a full step erases MNIST's 2-px strokes)
    thick: float = 1.0  # most of a dilation step when thickening
    lowres_p: float = 0.0
    lowres_sides: tuple = (9, 10, 11, 12, 13)  # px per side of the 28-px field (the 20-px digit: 6-9 cells)
    lowres_nearest: float = 0.3  # share of those upsampled with nearest neighbours (blocky), not bilinear
    lowres_gaps: float = 0.0  # each coarse cell keeps U(1 - this, 1) of its ink: UCI's thin, broken strokes
    blur_p: float = 0.0


SPECS = {
    "affine": AugmentSpec(),
    # Measured on UCI's digits (docs/benchmarks.md): the broken strokes and wider stretch lifted vgg from 83% to
    # 90% there after 3 passes over 20,000 images.
    "full": AugmentSpec(stretch=0.2, elastic_px=1.0, stroke_p=0.5, lowres_p=0.3, lowres_gaps=0.7, blur_p=0.25),
}


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The generator for one training batch: the same images on a rerun and after a resume."""
    return np.random.default_rng([seed, epoch, batch, 0x5EED])


def augment_batch(images: np.ndarray, rng: np.random.Generator, augment: str = "full") -> np.ndarray:
    """Model-input batch float32 [B, 1, 28, 28] in [-1, 1] (background -1) -> a redrawn batch, same form."""
    if augment == "none":
        return images
    spec = SPECS[augment]
    ink = (np.asarray(images, dtype=np.float32).reshape(-1, SIDE, SIDE) + 1.0) * 0.5
    if spec.stroke_p:
        ink = _stroke_width(ink, rng, spec)
    ink = _resample(ink, _source_coordinates(len(ink), rng, spec))
    coarse = np.zeros(len(ink), dtype=bool)
    if spec.lowres_p:
        ink, coarse = _low_resolution(ink, rng, spec)
    if spec.blur_p:
        ink = _blur(ink, rng, spec.blur_p, skip=coarse)  # a coarsened digit is blurred enough
    return (np.clip(ink, 0.0, 1.0) * 2.0 - 1.0).astype(np.float32).reshape(-1, 1, SIDE, SIDE)


# ------------------------------------------------------------------------------------------- strokes
def _neighbours(ink: np.ndarray) -> list[np.ndarray]:
    """The image and its 4 one-pixel shifts (zero-filled): a 3x3 cross."""
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    return [padded[:, 1:-1, 1:-1], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2],
            padded[:, 1:-1, 2:]]


def _stroke_width(ink: np.ndarray, rng: np.random.Generator, spec: AugmentSpec) -> np.ndarray:
    count = len(ink)
    amount = np.where(rng.random(count) < spec.stroke_p, rng.uniform(-spec.thin, spec.thick, count), 0.0)
    amount = amount.astype(np.float32)[:, None, None]
    shifts = _neighbours(ink)
    dilated, eroded = np.maximum.reduce(shifts), np.minimum.reduce(shifts)
    return np.where(amount > 0, ink + amount * (dilated - ink), ink - amount * (eroded - ink))


# ------------------------------------------------------------------------------------------ geometry
def _interpolation_matrix(out_size: int, in_size: int) -> np.ndarray:
    """[out, in] linear interpolation with aligned corners: a smooth field from `in_size` grid nodes."""
    if in_size == 1:
        return np.ones((out_size, 1), dtype=np.float32)
    position = np.linspace(0.0, in_size - 1.0, out_size)
    low = np.minimum(np.floor(position).astype(int), in_size - 2)
    frac = position - low
    matrix = np.zeros((out_size, in_size), dtype=np.float32)
    matrix[np.arange(out_size), low] = 1.0 - frac
    matrix[np.arange(out_size), low + 1] = frac
    return matrix


def _source_coordinates(count: int, rng: np.random.Generator, spec: AugmentSpec) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel of each image, where to read it: (y, x) float arrays [B, 28, 28]."""
    angle = np.deg2rad(rng.uniform(-spec.rotate_deg, spec.rotate_deg, count))
    zoom = rng.uniform(1 - spec.scale, 1 + spec.scale, count)
    zoom_x = zoom * rng.uniform(1 - spec.stretch, 1 + spec.stretch, count)
    zoom_y = zoom * rng.uniform(1 - spec.stretch, 1 + spec.stretch, count)
    shear = rng.uniform(-spec.shear, spec.shear, count)
    cos, sin = np.cos(angle), np.sin(angle)
    # The inverse map (output -> source) of rotate . shear . zoom, so the resampling is a gather.
    m = np.empty((count, 2, 2))
    m[:, 0, 0], m[:, 0, 1] = cos / zoom_x, (sin - shear * cos) / zoom_x
    m[:, 1, 0], m[:, 1, 1] = -sin / zoom_y, (cos + shear * sin) / zoom_y
    shift = rng.uniform(-spec.shift_px, spec.shift_px, (count, 2))
    grid = np.arange(SIDE, dtype=np.float64) - CENTRE
    gx, gy = grid[None, None, :], grid[None, :, None]
    src_x = m[:, 0, 0, None, None] * gx + m[:, 0, 1, None, None] * gy + CENTRE + shift[:, 0, None, None]
    src_y = m[:, 1, 0, None, None] * gx + m[:, 1, 1, None, None] * gy + CENTRE + shift[:, 1, None, None]
    if spec.elastic_px:
        up = _interpolation_matrix(SIDE, spec.elastic_grid)
        nodes = rng.normal(0.0, spec.elastic_px, (2, count, spec.elastic_grid, spec.elastic_grid))
        field = up @ nodes @ up.T  # [2, B, 28, 28]: matmul is BLAS, einsum here was 10x slower
        src_x, src_y = src_x + field[0], src_y + field[1]
    return src_y, src_x


def _resample(ink: np.ndarray, coordinates: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Bilinear sampling of each image at its source coordinates; outside the field is background (0)."""
    src_y, src_x = coordinates
    count = len(ink)
    width = SIDE + 2
    flat = np.pad(ink, ((0, 0), (1, 1), (1, 1))).reshape(-1)  # a zero border for the edge taps
    y0, x0 = np.floor(src_y), np.floor(src_x)
    wy, wx = (src_y - y0).astype(np.float32), (src_x - x0).astype(np.float32)
    outside = (src_y < -1) | (src_y > SIDE) | (src_x < -1) | (src_x > SIDE)
    rows = np.clip(y0, -1, SIDE - 1).astype(np.int32) + 1
    cols = np.clip(x0, -1, SIDE - 1).astype(np.int32) + 1
    base = rows * width + cols + (np.arange(count, dtype=np.int32) * width * width)[:, None, None]
    a, b, c, d = (flat.take(base + offset) for offset in (0, 1, width, width + 1))
    top = a + wx * (b - a)
    value = top + wy * (c + wx * (d - c) - top)
    value[outside] = 0.0
    return value


# -------------------------------------------------------------------------------------- resolution
def _area_matrix(out_size: int, in_size: int) -> np.ndarray:
    """[out, in] area averaging (each output cell the mean of the input pixels it covers, partly or fully)."""
    edges = np.linspace(0.0, in_size, out_size + 1)
    left, right = edges[:-1, None], edges[1:, None]
    pixel = np.arange(in_size)[None, :]
    overlap = np.clip(np.minimum(right, pixel + 1) - np.maximum(left, pixel), 0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def _nearest_matrix(out_size: int, in_size: int) -> np.ndarray:
    index = np.minimum((np.arange(out_size) * in_size) // out_size, in_size - 1)
    matrix = np.zeros((out_size, in_size), dtype=np.float32)
    matrix[np.arange(out_size), index] = 1.0
    return matrix


def _centred_linear_matrix(out_size: int, in_size: int) -> np.ndarray:
    """[out, in] bilinear upsampling with pixel centres aligned (what Pillow's BILINEAR does)."""
    position = np.clip((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0.0, in_size - 1.0)
    low = np.minimum(np.floor(position).astype(int), max(in_size - 2, 0))
    frac = position - low
    matrix = np.zeros((out_size, in_size), dtype=np.float32)
    matrix[np.arange(out_size), low] += 1.0 - frac
    matrix[np.arange(out_size), np.minimum(low + 1, in_size - 1)] += frac
    return matrix


def _low_resolution(ink: np.ndarray, rng: np.random.Generator, spec: AugmentSpec) -> tuple[np.ndarray, np.ndarray]:
    """(batch with some images coarsened, mask of those images)."""
    chosen = rng.random(len(ink)) < spec.lowres_p
    if not chosen.any():
        return ink, chosen
    out = ink.copy()
    picked = ink[chosen]
    coarse = np.empty_like(picked)
    sides = rng.choice(np.asarray(spec.lowres_sides), len(picked))
    nearest = rng.random(len(picked)) < spec.lowres_nearest
    for side in np.unique(sides):
        down = _area_matrix(int(side), SIDE)
        for use_nearest in (False, True):
            group = (sides == side) & (nearest == use_nearest)
            if group.any():
                small = down @ picked[group] @ down.T
                if spec.lowres_gaps:
                    small = small * rng.uniform(1.0 - spec.lowres_gaps, 1.0, small.shape).astype(np.float32)
                small = np.rint(small * 16.0) / 16.0
                up = (_nearest_matrix if use_nearest else _centred_linear_matrix)(SIDE, int(side))
                coarse[group] = up @ small @ up.T
    # The blur of the upsampling is what preprocess.auto_preprocess's contrast stretch then turns into a
    # thick, hard-edged stroke (what an upscaled UCI digit looks like to the model): stretch the same way.
    low = rng.uniform(0.05, 0.25, (len(picked), 1, 1)).astype(np.float32)
    high = low + rng.uniform(0.2, 0.5, (len(picked), 1, 1)).astype(np.float32)
    coarse = np.clip((coarse - low) / (high - low), 0.0, 1.0)
    out[chosen] = coarse
    return out, chosen


def _blur(ink: np.ndarray, rng: np.random.Generator, share: float, skip: np.ndarray) -> np.ndarray:
    amount = np.where((rng.random(len(ink)) < share) & ~skip, rng.uniform(0.3, 1.0, len(ink)), 0.0)
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    rows = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    blurred = 0.25 * rows[:, :, :-2] + 0.5 * rows[:, :, 1:-1] + 0.25 * rows[:, :, 2:]
    return ink + amount.astype(np.float32)[:, None, None] * (blurred - ink)
