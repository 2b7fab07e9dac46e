"""Training-time augmentation: python -m pytest -q tests/test_augment.py"""
from __future__ import annotations

import numpy as np

from legacy_mnist.training import augment as aug
from legacy_mnist.training.augment import AugmentSpec, augment_batch, batch_rng
from legacy_mnist.config import TrainConfig
from legacy_mnist.normalize import to_model_input
from legacy_mnist.training.feeding import _array_batches, _Split


def digits(count: int = 64) -> np.ndarray:
    """Model-input batch of simple synthetic strokes: a vertical bar and a ring per image, shifted."""
    canvas = np.zeros((count, 28, 28), dtype=np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    for index in range(count):
        ring = np.abs(np.hypot(yy - 14, xx - 12 - index % 4) - 6) < 1.2
        canvas[index][ring] = 255
        canvas[index, 6:22, 20 + index % 3] = 255
    return to_model_input(canvas)


def ink_mass(batch: np.ndarray) -> np.ndarray:
    return ((batch.reshape(len(batch), -1) + 1) / 2).sum(axis=1)


def test_none_is_the_input_and_each_level_keeps_the_model_input_form():
    batch = digits()
    assert augment_batch(batch, batch_rng(1, 0, 0), "none") is batch
    for level in ("affine", "full"):
        out = augment_batch(batch, batch_rng(1, 0, 0), level)
        assert out.shape == batch.shape and out.dtype == np.float32
        assert out.min() >= -1.0 and out.max() <= 1.0
        changed = np.abs(out - batch).reshape(len(batch), -1).max(axis=1) > 0.1
        assert changed.mean() > 0.9  # almost every image is redrawn
        # A digit stays a digit: the ink moves and changes width, but does not vanish or fill the field.
        ratio = ink_mass(out) / ink_mass(batch)
        assert np.all(ratio > 0.15) and np.all(ratio < 3.5), ratio  # measured: 0.21-2.5 (full)


def test_same_batch_seed_same_images_other_seed_differs():
    batch = digits()
    first = augment_batch(batch, batch_rng(3, 1, 7), "full")
    assert np.array_equal(first, augment_batch(batch, batch_rng(3, 1, 7), "full"))
    assert not np.array_equal(first, augment_batch(batch, batch_rng(3, 1, 8), "full"))
    assert not np.array_equal(first, augment_batch(batch, batch_rng(4, 1, 7), "full"))


def test_identity_geometry_resamples_exactly():
    ink = (digits().reshape(-1, 28, 28) + 1) / 2
    still = AugmentSpec(rotate_deg=0, scale=0, stretch=0, shear=0, shift_px=0)
    coords = aug._source_coordinates(len(ink), np.random.default_rng(0), still)
    assert np.abs(aug._resample(ink, coords) - ink).max() < 1e-6


def test_a_pure_shift_moves_the_ink_by_whole_pixels():
    ink = (digits(8).reshape(-1, 28, 28) + 1) / 2
    grid = np.arange(28, dtype=np.float64)
    src_y = np.broadcast_to(grid[None, :, None], ink.shape) - 2  # output row r reads source row r - 2
    src_x = np.broadcast_to(grid[None, None, :], ink.shape) + 1
    moved = aug._resample(ink, (src_y, src_x))
    assert np.allclose(moved[:, 2:, :-1], ink[:, :-2, 1:])
    assert np.all(moved[:, :2] == 0) and np.all(moved[:, :, -1] == 0)  # what came from outside is background


def test_stroke_width_thickens_and_thins():
    ink = (digits().reshape(-1, 28, 28) + 1) / 2
    always = AugmentSpec(stroke_p=1.0)
    out = aug._stroke_width(ink, np.random.default_rng(0), always)
    mass_in, mass_out = ink.sum(axis=(1, 2)), out.sum(axis=(1, 2))
    assert (mass_out > 1.2 * mass_in).any() and (mass_out < 0.9 * mass_in).any()


def test_low_resolution_is_blocky_and_quantised():
    ink = (digits(32).reshape(-1, 28, 28) + 1) / 2
    area = aug._area_matrix(7, 28)
    assert np.allclose(area.sum(axis=1), 1) and np.allclose(area.sum(axis=0), 0.25)
    spec = AugmentSpec(lowres_p=1.0, lowres_sides=(7,), lowres_nearest=1.0)
    out, coarse = aug._low_resolution(ink, np.random.default_rng(0), spec)
    assert coarse.all() and not np.allclose(out, ink)
    blocks = out.reshape(32, 7, 4, 7, 4)
    assert np.allclose(blocks, blocks[:, :, :1, :, :1])  # constant on each 4x4 block: a 7x7 picture
    half, _ = aug._low_resolution(ink, np.random.default_rng(0), AugmentSpec(lowres_p=0.5))
    changed = np.abs(half - ink).reshape(32, -1).max(axis=1) > 0
    assert 5 < changed.sum() < 27


def test_training_batches_are_redrawn_the_same_way_on_a_rerun():
    images = np.asarray((digits(96)[:, 0] + 1) * 127.5, dtype=np.uint8)
    split = _Split(images, np.arange(96) % 10)
    cfg = TrainConfig(model="vgg", batch_size=32, seed=5)
    def batches(cfg):
        return [feed["img"] for feed, _ in _array_batches(split, cfg, 0, ("img", "label"), lambda n: slice(None))]

    first, again, plain = batches(cfg), batches(cfg), batches(cfg.with_changes(augment="none"))
    assert len(first) == 3 and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(np.allclose(a, b) for a, b in zip(first, plain))
    assert cfg.resolved_augment == "full" and TrainConfig(model="cnn").resolved_augment == "none"
