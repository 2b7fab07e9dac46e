"""Predict the digit in each image file: batches of preprocessed files through a loaded model.

Not run directly; `python -m legacy_mnist.infer` and the Python API (docs/usage.md) call it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .backends import NUM_CLASSES, Model
from ..errors import DataError, UserError
from ..common.input_checks import is_int
from ..normalize import to_model_input
from .image_files import first_line
from ..preprocess import DEFAULT_MAX_PIXELS, PREPROCESS_MODES, preprocess_file
from .files import STDIN, iter_image_paths
from .loading import load_model


DEFAULT_BATCH_SIZE = 64  # images held in memory at once while predicting a long list of files


@dataclass
class Prediction:
    path: str
    digit: int | None = None  # None when the file failed
    probability: float | None = None
    top_k: list = field(default_factory=list)  # [(digit, probability), ...] best first
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _results(paths: list[str], pixels: list[np.ndarray], model: Model, top_k: int) -> list[Prediction]:
    probs = model.predict(to_model_input(np.stack(pixels)))
    results = []
    for path, row in zip(paths, probs):
        order = np.argsort(-row, kind="stable")[:top_k]
        top = [(int(d), float(row[d])) for d in order]
        results.append(Prediction(path, top[0][0], top[0][1], top))
    return results


def iter_predictions(
    inputs: Iterable[str | os.PathLike],
    model: Model,
    preprocess: str = "auto",
    top_k: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    recursive: bool = False,
) -> Iterator[Prediction]:
    """Predict files lazily in input order, at most `batch_size` images in memory at once."""
    if preprocess not in PREPROCESS_MODES:
        raise UserError(f"unknown preprocess mode {preprocess!r}; choose one of {', '.join(PREPROCESS_MODES)}")
    for name, value, low, high in (("top_k", top_k, 1, NUM_CLASSES), ("batch_size", batch_size, 1, 1 << 20),
                                   ("max_pixels", max_pixels, 1, 1 << 40)):
        if not is_int(value) or not low <= value <= high:
            raise UserError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    if not isinstance(model, Model):
        raise UserError(f"model must be a loaded Model (legacy_mnist.infer.load_model), got {type(model).__name__}")
    pending: list[Prediction | tuple[str, np.ndarray]] = []

    def flush() -> list[Prediction]:
        ready = [item for item in pending if isinstance(item, tuple)]
        done = iter(_results([p for p, _ in ready], [a for _, a in ready], model, top_k) if ready else [])
        out = [item if isinstance(item, Prediction) else next(done) for item in pending]
        pending.clear()
        return out

    count = 0
    for path, error in iter_image_paths(inputs, recursive):
        if error is None:
            try:
                pending.append((path, preprocess_file(path, preprocess, max_pixels)))
                count += 1
            except DataError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - one file's surprise is that file's row, not the run's end
                error = f"{path}: cannot read this image ({type(exc).__name__}: {first_line(exc)})"
        if error is not None:
            pending.append(Prediction(path, error=error))
        if count >= batch_size:
            yield from flush()
            count = 0
    yield from flush()


def predict_files(
    paths: Iterable[str | os.PathLike],
    model: Model | str | os.PathLike,
    preprocess: str = "auto",
    top_k: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    recursive: bool = False,
) -> list[Prediction]:
    """Predict image files, directories and globs; a bad file gets `error` set, the others a digit."""
    if not isinstance(model, Model):
        model = load_model(model)
    return list(iter_predictions(paths, model, preprocess, top_k, batch_size, max_pixels, recursive))


def _named_stdin(result: Prediction, stdin_file: Path) -> Prediction:
    """Report the image read from standard input as `-`, in the result and in its error message."""
    if result.path != str(stdin_file):
        return result
    error = result.error.replace(str(stdin_file), STDIN) if result.error else None
    return Prediction(STDIN, result.digit, result.probability, result.top_k, error)
