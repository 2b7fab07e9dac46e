"""The PaddlePaddle AI Studio course's `mnist.json.gz` as an MNIST source.

Not run directly: `python -m legacy_mnist.train --data-dir work/mnist.json.gz` (or the dir holding it)
reads it through `legacy_mnist.dataset.load_split`.
The file is gzip'd JSON `[[train_imgs, train_labels], [val_imgs, val_labels], [eval_imgs, eval_labels]]`
(50k/10k/10k images, each a list of 784 floats in [0, 1]). train = train + val (60k, the same order as the
IDX file, so `train_val_split(..., 10000)` gives back the course's split) and test = eval.
"""
from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import GZIP_MAGIC, ROWS, COLS, floats_to_pixels

AISTUDIO_FILE = "mnist.json.gz"
PART_NAMES = ("train", "val", "eval")


@dataclass(frozen=True)
class AiStudioData:
    splits: dict  # "train" (train+val) / "test" (eval) -> (uint8 [N, 28, 28], int64 [N])
    scale: int | None  # 255 or 256: pixels were x/scale; None: neither fitted exactly (rounded x*255)


class _SharedFloats(dict):
    """json's parse_float hook: one float object per distinct spelling (~256 of them in MNIST), so 55M
    pixels cost a list slot each instead of a 24-byte float each."""

    def __missing__(self, text: str) -> float:
        value = self[text] = float(text)
        return value


def _read_json(path: Path):
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected {AISTUDIO_FILE}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except EOFError:
            raise DataError(f"{path}: truncated gzip data (the file was cut short)") from None
        except (OSError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    elif path.name.endswith(".gz"):
        raise DataError(f"{path}: not a gzip file (the .gz name says it should be)")
    try:
        return json.loads(data, parse_float=_SharedFloats().__getitem__)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError(f"{path}: not valid JSON ({str(exc).splitlines()[0]})") from None


def _labels(values, where: str) -> np.ndarray:
    try:
        labels = np.asarray(values)
    except (ValueError, TypeError):
        labels = np.asarray([], dtype=object)
    if labels.ndim != 1 or labels.dtype.kind not in "iuf":
        raise DataError(f"{where}: labels must be a flat list of digits 0..9")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.rint(labels)):
        raise DataError(f"{where}: labels must be whole numbers")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{where}: label {labels.max() if labels.max() > 9 else labels.min():g} is not a digit 0..9")
    return labels.astype(np.int64)


def load_aistudio(path: str | Path) -> AiStudioData:
    """Parse and validate an AI Studio MNIST file; DataError naming the file when anything is off."""
    path = Path(path)
    data = _read_json(path)
    if not (isinstance(data, list) and len(data) == 3 and all(isinstance(p, list) and len(p) == 2 for p in data)):
        raise DataError(f"{path}: expected [[train_imgs, train_labels], [val_imgs, val_labels], "
                        f"[eval_imgs, eval_labels]]")
    all_images, labels = [], []
    for name, (images, part_labels) in zip(PART_NAMES, data):
        where = f"{path} ({name} part)"
        if not isinstance(images, list) or not isinstance(part_labels, list):
            raise DataError(f"{where}: images and labels must be lists")
        if len(images) != len(part_labels):
            raise DataError(f"{where}: {len(images)} images but {len(part_labels)} labels")
        labels.append(_labels(part_labels, where))
        all_images.extend(images)  # one array for all parts: one pass, one scale decision
    try:
        floats = np.asarray(all_images, dtype=np.float32)
    except (ValueError, TypeError):
        raise DataError(f"{path}: every image must be a list of {ROWS * COLS} numbers") from None
    if floats.ndim < 2 or floats[0].size != ROWS * COLS or floats.shape[0] != len(all_images):
        raise DataError(f"{path}: every image must be a list of {ROWS * COLS} numbers "
                        f"(found shape {list(floats.shape[1:])})")
    pixels, scale = floats_to_pixels(floats.reshape(len(floats), ROWS * COLS), str(path))
    pixels = pixels.reshape(-1, ROWS, COLS)
    n_train = len(labels[0]) + len(labels[1])
    splits = {"train": (pixels[:n_train], np.concatenate(labels[:2])), "test": (pixels[n_train:], labels[2])}
    for split, (images, split_labels) in splits.items():
        if len(images) == 0:
            raise DataError(f"{path}: the {'train and val parts are' if split == 'train' else 'eval part is'} empty")
    return AiStudioData(splits, scale)
