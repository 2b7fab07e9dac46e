"""Data into the programs: the splits, the device, batches through the DataFeeder (or arrays), evaluation passes.

Not run directly; `legacy_mnist.train.train` feeds every pass through it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .augment import augment_batch, batch_rng
from ..config import TrainConfig
from ..dataset import iterate_batches, load_split, train_val_split
from .distributed import SINGLE_PROCESS
from ..errors import UserError
from ..normalize import normalize
from .program import Programs


@dataclass
class _Split:
    images: np.ndarray
    labels: np.ndarray


def select_device(paddle, device: str, index: int = 0):
    """The Executor place; asking for a GPU without a CUDA build is a user error (the book returned silently)."""
    if device == "gpu":
        if not paddle.device.is_compiled_with_cuda() or paddle.device.cuda.device_count() < 1:
            raise UserError("--device gpu: this Paddle build has no CUDA support or no GPU is visible; "
                            "install paddlepaddle-gpu or use --device cpu")
        return paddle.CUDAPlace(index)
    return paddle.CPUPlace()


def prepare_data(cfg: TrainConfig, log: Callable[[str], None]):
    """(train, val, test) splits after the validation hold-out and the optional limits."""
    train_split = load_split("train", cfg.data_dir, log=log)
    test_split = load_split("test", cfg.data_dir, log=log)
    if cfg.val_size >= len(train_split.labels):
        raise UserError(f"--val-size {cfg.val_size} leaves no training images (have {len(train_split.labels)})")
    (train_x, train_y), (val_x, val_y) = train_val_split(train_split.images, train_split.labels, cfg.val_size)
    if cfg.train_limit:
        train_x, train_y = train_x[: cfg.train_limit], train_y[: cfg.train_limit]
    test_x, test_y = test_split.images, test_split.labels
    if cfg.test_limit:
        test_x, test_y = test_x[: cfg.test_limit], test_y[: cfg.test_limit]
    return _Split(train_x, train_y), _Split(val_x, val_y), _Split(test_x, test_y), train_split.source


def _legacy_batches(paddle, split: _Split, cfg: TrainConfig, epoch: int, feeder, share):
    """The book's reader pipeline: DataFeeder over paddle.batch(paddle.reader.shuffle(reader, 500)).

    Every rank draws the same global batches; `share(size)` is the slice of each that this rank trains on.
    """

    def reader():
        for image, label in zip(split.images, split.labels):
            yield normalize(image).reshape(-1), int(label)

    # paddle.reader.shuffle draws from Python's `random`; seeding per pass makes passes (and resumes) repeatable.
    random.seed(cfg.seed * 1000003 + epoch)
    augment = cfg.resolved_augment
    for index, batch in enumerate(paddle.batch(paddle.reader.shuffle(reader, buf_size=500), cfg.batch_size)()):
        if augment != "none":  # the whole batch, then this rank's share: the same images as in one process
            images = augment_batch(np.stack([image for image, _ in batch]), batch_rng(cfg.seed, epoch, index), augment)
            batch = [(image.reshape(-1), label) for image, (_, label) in zip(images, batch)]
        yield feeder.feed(batch[share(len(batch))]), len(batch)


def _array_batches(split: _Split, cfg: TrainConfig, epoch: int, names: tuple[str, str], share):
    augment = cfg.resolved_augment
    for index, (images, labels) in enumerate(iterate_batches(split.images, split.labels, cfg.batch_size,
                                                             shuffle=True, seed=cfg.seed * 1000003 + epoch)):
        if augment != "none":  # seeded by the batch, so a resumed pass (and every rank) redraws the same images
            images = augment_batch(images, batch_rng(cfg.seed, epoch, index), augment)
        part = share(len(labels))
        yield {names[0]: images[part], names[1]: labels[part]}, len(labels)


def evaluate(exe, programs: Programs, split: _Split, batch_size: int, parallel=SINGLE_PROCESS
             ) -> tuple[float, float]:
    """Mean cost and accuracy of the test program over a split (batch-size weighted, like the book's).

    Data-parallel ranks each evaluate their part of the split and sum the totals: the whole split's figures.
    """
    part = parallel.eval_share(len(split.labels))
    images, labels = split.images[part], split.labels[part]
    total_cost = total_correct = 0.0
    for batch_images, batch_labels in iterate_batches(images, labels, batch_size, shuffle=False):
        cost, acc = exe.run(programs.evaluation, feed={programs.image.name: batch_images,
                                                       programs.label.name: batch_labels},
                            fetch_list=programs.evaluation_fetches)
        total_cost += float(cost) * len(batch_labels)
        total_correct += float(acc) * len(batch_labels)
    total_cost, total_correct, count = parallel.sum([total_cost, total_correct, float(len(labels))])
    if count == 0:
        return float("nan"), float("nan")
    return total_cost / count, total_correct / count
