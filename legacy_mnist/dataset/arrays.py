"""The fast numpy path: whole MNIST splits as arrays, a deterministic validation hold-out, and batches.

Not run directly; `python -m legacy_mnist.train` (reader "array") uses it:

    split = load_split("train")                        # 60000 verified images, memoised in-process
    (x, y), (vx, vy) = train_val_split(split.images, split.labels, 5000)
    for images, labels in iterate_batches(x, y, 64, shuffle=True, seed=1): ...
"""
from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np

from ..errors import UserError
from ..normalize import to_model_input
from . import sources


class MnistSplit(NamedTuple):
    images: np.ndarray  # uint8 [N, 28, 28], read-only
    labels: np.ndarray  # int64 [N], read-only
    source: str  # one line: where the data came from and whether it is the canonical MNIST


def load_split(split: str, data_dir: str | Path | None = None, *, cache_dir: str | Path | None = None,
               allow_download: bool = True, log: Callable[[str], None] | None = None) -> MnistSplit:
    """The "train" (60,000) or "test" (10,000) split, from `data_dir` or the cache (fetched when missing).

    `log` gets the one-line source message (default: stderr). Repeated calls for unchanged files return the
    same read-only arrays without decoding again.
    """
    log = log or sources.log_to_stderr
    loaded = sources.load(split, data_dir, cache_dir=cache_dir, allow_download=allow_download, log=log)
    log(loaded.message)
    return MnistSplit(loaded.images, loaded.labels, loaded.message)


def ensure_cached(cache_dir: str | os.PathLike | None = None, *, allow_download: bool = True,
                  log: Callable[[str], None] | None = None) -> Path:
    """Fetch (if needed) and verify all four MNIST files in the cache; returns the cache directory."""
    return sources.ensure_cache(cache_dir, allow_download=allow_download, log=log or sources.log_to_stderr)


def _check_pair(images: np.ndarray, labels: np.ndarray) -> None:
    if len(images) != len(labels):
        raise UserError(f"{len(images)} images but {len(labels)} labels")


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UserError(f"{name} must be an integer, got {value!r}")
    return int(value)


def train_val_split(images: np.ndarray, labels: np.ndarray, val_size: int
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out the LAST `val_size` samples (deterministic; 10000 gives the AI Studio 50k/10k split)."""
    images, labels = np.asarray(images), np.asarray(labels)
    _check_pair(images, labels)
    val_size = _count(val_size, "val_size")
    if not 0 <= val_size < len(images):
        raise UserError(f"val_size must be between 0 and {len(images) - 1} (the training set has "
                        f"{len(images)} images), got {val_size}")
    cut = len(images) - val_size
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])


def iterate_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, *, shuffle: bool,
                    seed: int | None = None, drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (float32 [B, 1, 28, 28] model input, int64 [B, 1] labels) batches covering every sample once.

    With `shuffle`, the order is a permutation from np.random.default_rng(seed), fresh per call, so the same
    seed gives the same batches. Each batch is one fancy-indexing gather, not a per-sample loop.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    _check_pair(images, labels)
    batch_size = _count(batch_size, "batch_size")
    if batch_size <= 0:
        raise UserError(f"batch_size must be positive, got {batch_size}")
    order = np.random.default_rng(seed).permutation(len(images)) if shuffle else None
    return _batches(images, labels, batch_size, order, drop_last)  # arguments checked now, not at first next()


def _batches(images: np.ndarray, labels: np.ndarray, batch_size: int, order: np.ndarray | None,
             drop_last: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    n = len(images)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        index = order[start:start + batch_size] if order is not None else slice(start, start + batch_size)
        yield to_model_input(images[index]), labels[index].astype(np.int64).reshape(-1, 1)
