"""The numpy path: real MNIST splits, the validation hold-out, and the batch iterator.

Run: python -m pytest -q tests/test_dataset_arrays.py
"""
from __future__ import annotations

import numpy as np
import pytest

from legacy_mnist.dataset import iterate_batches, load_split, train_val_split
from legacy_mnist.errors import UserError
from legacy_mnist.normalize import to_model_input

# MNIST's per-digit counts (digits 0..9), as published with the dataset.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("split, counts", [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_real_splits_have_mnist_label_counts(mnist_cache, split, counts):
    data = load_split(split, cache_dir=mnist_cache, log=lambda line: None)
    assert data.images.shape == (sum(counts), 28, 28) and data.images.dtype == np.uint8
    assert data.labels.shape == (sum(counts),) and data.labels.dtype == np.int64
    assert np.bincount(data.labels, minlength=10).tolist() == counts
    assert "canonical MNIST, md5 verified" in data.source and str(mnist_cache) in data.source
    assert not data.images.flags.writeable and not data.labels.flags.writeable


def numbered(n):
    """n images whose first two pixels encode their index, with labels index % 10."""
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256
    return images, np.arange(n, dtype=np.int64) % 10


def ids(batch_images):
    """Recover the indices from model input (pixel p -> p / 255 * 2 - 1)."""
    pixels = np.rint((batch_images[:, 0, 0, :2] + 1) / 2 * 255).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1]


def test_train_val_split_holds_out_the_last_images():
    images, labels = numbered(50)
    (train_x, train_y), (val_x, val_y) = train_val_split(images, labels, 8)
    assert len(train_x) == 42 and len(val_x) == 8
    np.testing.assert_array_equal(val_x, images[42:])
    np.testing.assert_array_equal(val_y, labels[42:])
    np.testing.assert_array_equal(train_x, images[:42])
    (train_x, _), (val_x, val_y) = train_val_split(images, labels, 0)
    assert len(train_x) == 50 and val_x.shape == (0, 28, 28) and val_y.shape == (0,)


@pytest.mark.parametrize("bad", [-1, 50, 51, 2.0, True, "5"])
def test_train_val_split_rejects_bad_sizes(bad):
    images, labels = numbered(50)
    with pytest.raises(UserError, match="val_size"):
        train_val_split(images, labels, bad)


def test_train_val_split_rejects_mismatched_arrays():
    images, labels = numbered(5)
    with pytest.raises(UserError, match="5 images but 4 labels"):
        train_val_split(images, labels[:4], 1)


def test_batches_shapes_dtypes_and_values():
    images, labels = numbered(103)
    batches = list(iterate_batches(images, labels, 16, shuffle=False))
    assert [len(x) for x, _ in batches] == [16] * 6 + [7]
    x, y = batches[0]
    assert x.shape == (16, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (16, 1) and y.dtype == np.int64
    np.testing.assert_array_equal(x, to_model_input(images[:16]))
    np.testing.assert_array_equal(np.concatenate([ids(b) for b, _ in batches]), np.arange(103))
    assert [len(x) for x, _ in iterate_batches(images, labels, 16, shuffle=False, drop_last=True)] == [16] * 6


def test_shuffled_batches_cover_every_sample_once_and_follow_the_seed():
    images, labels = numbered(300)
    first = list(iterate_batches(images, labels, 32, shuffle=True, seed=5))
    order = np.concatenate([ids(x) for x, _ in first])
    assert sorted(order.tolist()) == list(range(300))
    assert not np.array_equal(order, np.arange(300))
    np.testing.assert_array_equal(np.concatenate([y[:, 0] for _, y in first]), order % 10)  # labels stay paired
    np.testing.assert_array_equal(order, np.random.default_rng(5).permutation(300))
    again = np.concatenate([ids(x) for x, _ in iterate_batches(images, labels, 32, shuffle=True, seed=5)])
    other = np.concatenate([ids(x) for x, _ in iterate_batches(images, labels, 32, shuffle=True, seed=6)])
    np.testing.assert_array_equal(order, again)
    assert not np.array_equal(order, other)


@pytest.mark.parametrize("batch_size", [0, -3, 1.5, None])
def test_bad_batch_size_is_a_user_error_at_call_time(batch_size):
    images, labels = numbered(4)
    with pytest.raises(UserError, match="batch_size"):
        iterate_batches(images, labels, batch_size, shuffle=False)


def test_batches_over_the_real_training_set(mnist_cache):
    train = load_split("train", cache_dir=mnist_cache, log=lambda line: None)
    seen = np.zeros(10, np.int64)
    count = 0
    for x, y in iterate_batches(train.images, train.labels, 500, shuffle=True, seed=0):
        count += len(x)
        seen += np.bincount(y[:, 0], minlength=10)
    assert count == 60000 and seen.tolist() == TRAIN_COUNTS
