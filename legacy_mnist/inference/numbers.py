"""Read each image as a written number (one line of digits, touching or spaced): the number API.

Not run directly; `python -m legacy_mnist.infer --number` and the Python API (`legacy_mnist.infer.predict_number`,
`predict_numbers`, docs/usage.md) call it. The page is cut into digits by `legacy_mnist.inference.segment`;
every candidate digit goes to the model through `normalize.to_model_input`, the scaling training used.
A page with no digits is `NoNumberError` from `predict_number` and a result with `error` set from
`predict_numbers`, as a page with no digit is for one digit (`preprocess_file` / `predict_files`).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image

from .backends import Model
from ..common.input_checks import is_int
from ..errors import DataError, UserError
from ..normalize import to_model_input
from ..preprocess import DEFAULT_MAX_PIXELS, WORK_SIDE, NoDigitError
from .files import STDIN, iter_image_paths
from .image_files import first_line, open_image
from .loading import load_model
from .segment import read_number

NO_DIGIT = "no digit found"


class NoNumberError(NoDigitError):
    """The image holds no digits to read as a number (blank page, only rules, specks)."""


@dataclass
class NumberPrediction:
    path: str
    number: str | None = None  # the digits left to right ("0071" keeps its zeros); None when the file failed
    digits: list = field(default_factory=list)  # [int, ...] left to right
    probabilities: list = field(default_factory=list)  # [float, ...]: each digit's winning probability
    rows: list = field(default_factory=list)  # [[10 floats], ...]: each digit's full softmax row
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def confidence(self) -> float | None:
        """The lowest per-digit probability: a number is as sure as its least sure digit."""
        return min(self.probabilities) if self.probabilities else None


class _ModelFailed(Exception):
    """Carries an exception of the model's out of the image handling, which would report it as the file's."""


def _no_number(path, exc: NoDigitError) -> NoNumberError:
    reason = str(exc)
    if reason.startswith(NO_DIGIT):  # the single-digit reader's reason, said of a number
        reason = "no number found" + reason[len(NO_DIGIT):]
    elif not reason.startswith("no number found"):
        reason = f"no number found ({reason})"
    return NoNumberError(f"{path}: {reason}")


def _read(image: Image.Image, model: Model, name) -> NumberPrediction:
    def predict(pixels: np.ndarray) -> np.ndarray:
        try:
            return model.predict(to_model_input(pixels))
        except Exception as exc:  # noqa: BLE001 - re-raised as it was, below
            raise _ModelFailed() from exc

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on stderr about odd EXIF blocks: not the user's output
            digits, probs = read_number(image, predict)
    except _ModelFailed as failed:
        raise failed.__cause__ from None
    except NoDigitError as exc:
        raise _no_number(name, exc) from None
    except DataError as exc:
        raise type(exc)(f"{name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - one odd image is that file's error, never the end of the run
        raise DataError(f"{name}: cannot convert image ({first_line(exc)})") from None
    rows = np.asarray(probs, dtype=np.float64)
    return NumberPrediction(
        path=str(name), number="".join(str(d) for d in digits), digits=[int(d) for d in digits],
        probabilities=[float(rows[i, d]) for i, d in enumerate(digits)], rows=rows.tolist())


def _checked(model, max_pixels) -> Model:
    if not is_int(max_pixels) or not 1 <= max_pixels <= 1 << 40:
        raise UserError(f"max_pixels must be an integer from 1 to {1 << 40}, got {max_pixels!r}")
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    raise UserError(f"model must be a loaded Model (legacy_mnist.infer.load_model) or an export's path, "
                    f"got {type(model).__name__}")


def predict_number(model: Model | str | os.PathLike, image: str | os.PathLike | Image.Image | np.ndarray,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> NumberPrediction:
    """One photo of a written number -> NumberPrediction (never with `error` set).

    `image`: a file's path, a PIL image or a uint8 array ([H, W] gray or [H, W, 3] RGB, dark ink on light
    paper or the reverse). Raises NoNumberError (a NoDigitError, so a DataError) naming the file when the page
    holds no digits, and DataError for a file that is not a readable image.
    """
    model = _checked(model, max_pixels)
    if isinstance(image, Image.Image):
        return _read(image, model, "<image>")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise UserError(f"image array must be uint8 [H, W], [H, W, 3] or [H, W, 4], got {image.dtype} "
                            f"{list(image.shape)}")
        return _read(Image.fromarray(image), model, "<array>")
    if not isinstance(image, (str, os.PathLike)):
        raise UserError(f"image must be a path, a PIL image or a uint8 array, got {type(image).__name__}")
    opened = open_image(image, max_pixels, work_side=WORK_SIDE)
    try:
        return _read(opened, model, image)
    finally:
        opened.close()


def iter_number_predictions(inputs: Iterable[str | os.PathLike], model: Model,
                            max_pixels: int = DEFAULT_MAX_PIXELS, recursive: bool = False) -> Iterator[NumberPrediction]:
    """Read files, directories and globs as numbers lazily, in input order; a bad file or a page without
    digits gets `error` set (the message names the file), the others a number."""
    model = _checked(model, max_pixels)
    for path, error in iter_image_paths(inputs, recursive):
        if error is None:
            try:
                yield predict_number(model, path, max_pixels)
                continue
            except DataError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - one file's surprise is that file's row, not the run's end
                error = f"{path}: cannot read this image ({type(exc).__name__}: {first_line(exc)})"
        yield NumberPrediction(str(path), error=error)


def predict_numbers(paths: Iterable[str | os.PathLike], model: Model | str | os.PathLike,
                    max_pixels: int = DEFAULT_MAX_PIXELS, recursive: bool = False) -> list[NumberPrediction]:
    """`predict_number` over image files, directories and globs: a list in input order, where a bad file or a
    page with no number gets `error` set instead of raising."""
    return list(iter_number_predictions(paths, _checked(model, max_pixels), max_pixels, recursive))


def named_stdin(result: NumberPrediction, stdin_file: Path) -> NumberPrediction:
    """Report the image read from standard input as `-`, in the result and in its error message."""
    if result.path != str(stdin_file):
        return result
    return replace(result, path=STDIN, error=result.error.replace(str(stdin_file), STDIN) if result.error else None)
