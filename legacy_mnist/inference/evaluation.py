"""Accuracy of a model on labelled digits: batched predictions, accuracy, confusion matrix.

Not run directly; `python -m legacy_mnist.evaluate` and `legacy_mnist.evaluate.evaluate` (docs/usage.md) call it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backends import NUM_CLASSES, Model
from ..normalize import to_model_input


DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class Evaluation:
    count: int
    correct: int
    confusion: np.ndarray  # int64 [10, 10]: rows = true digit, columns = predicted digit
    predictions: np.ndarray  # int64 [N]; -1 where preprocessing found no digit (counted as wrong)
    confidences: np.ndarray  # float32 [N]: probability of the predicted digit (0 where -1)
    unreadable_per_class: np.ndarray  # int64 [10]: images per true digit that had no prediction

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else 0.0

    @property
    def unreadable(self) -> int:
        return int(self.unreadable_per_class.sum())

    @property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1) + self.unreadable_per_class

    @property
    def per_class_correct(self) -> np.ndarray:
        return np.diag(self.confusion).copy()

    @property
    def per_class_accuracy(self) -> np.ndarray:
        support = self.support
        return np.where(support > 0, self.per_class_correct / np.maximum(support, 1), 0.0)


def summarize(labels: np.ndarray, probs: np.ndarray, readable: np.ndarray | None = None) -> Evaluation:
    """Accuracy and confusion matrix from labels [N] and probabilities [N, 10]; rows with readable=False
    count as wrong and stay out of the matrix."""
    labels = np.asarray(labels, dtype=np.int64)
    readable = np.ones(len(labels), dtype=bool) if readable is None else np.asarray(readable, dtype=bool)
    predictions = np.where(readable, probs.argmax(axis=1), -1).astype(np.int64)
    confidences = np.where(readable, probs.max(axis=1), 0.0).astype(np.float32)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels[readable], predictions[readable]), 1)
    return Evaluation(
        count=len(labels), correct=int(np.sum(predictions == labels)), confusion=confusion,
        predictions=predictions, confidences=confidences,
        unreadable_per_class=np.bincount(labels[~readable], minlength=NUM_CLASSES).astype(np.int64),
    )


def predict_arrays(model: Model, images: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Probabilities [N, 10] for uint8 images [N, 28, 28], `batch_size` at a time."""
    chunks = [model.predict(to_model_input(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, NUM_CLASSES), dtype=np.float32)


def evaluate(model: Model, images: np.ndarray, labels: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> Evaluation:
    """Evaluate `model` on uint8 digits [N, 28, 28] with int labels [N]."""
    return summarize(labels, predict_arrays(model, images, batch_size))


@dataclass(frozen=True)
class NumberEvaluation:
    """Written numbers read whole (`--photo-set numbers`): whole-number accuracy, and `digits`, an Evaluation of
    the digits position by position (a number read with the wrong count of digits, or not found, counts all
    its digits as unreadable, so wrong)."""

    count: int
    correct: int
    wrong_length: int  # numbers read with more or fewer digits than written
    unreadable: int  # pages where no number was found
    by_length: dict  # digits written -> (numbers read right, numbers)
    digits: Evaluation
    readings: tuple  # what was read for each page ("" when no number was found)

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else 0.0


def summarize_numbers(truths, readings, rows) -> NumberEvaluation:
    """Written numbers `truths` (digit strings), what was read (`readings`: strings, None where no number was
    found) and the probability rows [n_digits, 10] of each reading (None where none)."""
    labels, probs, aligned = [], [], []
    by_length: dict = {}
    correct = wrong_length = unreadable = 0
    for truth, reading, row in zip(truths, readings, rows):
        right = reading == truth
        correct += right
        unreadable += reading is None
        wrong_length += reading is not None and len(reading) != len(truth)
        done, seen = by_length.get(len(truth), (0, 0))
        by_length[len(truth)] = (done + right, seen + 1)
        same = reading is not None and len(reading) == len(truth)
        labels += [int(d) for d in truth]
        probs += list(np.asarray(row, dtype=np.float32)) if same else [np.zeros(NUM_CLASSES, np.float32)] * len(truth)
        aligned += [same] * len(truth)
    digits = summarize(np.array(labels, dtype=np.int64), np.array(probs, dtype=np.float32).reshape(-1, NUM_CLASSES),
                       np.array(aligned, dtype=bool))
    return NumberEvaluation(len(truths), correct, wrong_length, unreadable, dict(sorted(by_length.items())), digits,
                            tuple("" if r is None else r for r in readings))
