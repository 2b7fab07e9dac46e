"""The legacy reader creators: paddle.dataset.mnist's samples, and Paddle's own shuffle/batch on top.

Run: python -m pytest -q tests/test_dataset_mnist.py
"""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from legacy_mnist.dataset import load_split, mnist
from legacy_mnist.dataset.idx import encode_images, encode_labels
from legacy_mnist.normalize import normalize
from legacy_mnist.paddle_env import import_paddle


@pytest.fixture
def default_cache(mnist_cache, monkeypatch):
    """`mnist.train()` takes no cache argument: point the default location at the fixture's cache."""
    monkeypatch.setenv("LEGACY_MNIST_DATA_HOME", str(mnist_cache))
    return mnist_cache


def test_test_reader_yields_the_old_samples(default_cache):
    samples = list(mnist.test()())
    assert len(samples) == 10000
    image, label = samples[0]
    assert isinstance(image, np.ndarray) and image.dtype == np.float32 and image.shape == (784,)
    assert type(label) is int and 0 <= label <= 9
    images = np.stack([s[0] for s in samples])
    assert images.min() == -1.0 and images.max() == 1.0
    split = load_split("test", cache_dir=default_cache, log=lambda line: None)
    np.testing.assert_array_equal(images, normalize(split.images.reshape(-1, 784)))  # bit-exact
    assert [s[1] for s in samples] == split.labels.tolist()


def test_train_reader_counts_and_fresh_generators(default_cache):
    reader = mnist.train()
    counts = np.zeros(10, np.int64)
    for _, label in reader():
        counts[label] += 1
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert sum(1 for _ in reader()) == 60000  # a reader creator: each call starts a new pass
    assert mnist.fetch() == default_cache


def test_reader_over_an_explicit_dir(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (250, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 250)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(encode_images(images))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(encode_labels(labels)))
    samples = list(mnist.test(tmp_path)())
    np.testing.assert_array_equal(np.stack([s[0] for s in samples]), normalize(images.reshape(-1, 784)))
    assert [s[1] for s in samples] == labels.tolist()


def test_paddle_batch_and_shuffle_work_with_our_creators(default_cache):
    paddle = import_paddle()
    batched = paddle.batch(paddle.reader.shuffle(mnist.train(), 500), 64)
    sizes, counts = [], np.zeros(10, np.int64)
    first = None
    for batch in batched():
        sizes.append(len(batch))
        first = first or batch
        for _, label in batch:
            counts[label] += 1
    assert sizes == [64] * 937 + [32]
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    image, label = first[0]
    assert image.shape == (784,) and image.dtype == np.float32 and isinstance(label, int)
    # shuffled within the 500-sample buffer: the first batch is not the file's first 64 labels
    train = load_split("train", cache_dir=default_cache, log=lambda line: None)
    assert [lab for _, lab in first] != train.labels[:64].tolist()
