"""The PaddlePaddle AI Studio course's `mnist.json.gz`: read it as an MNIST source, or write it.

Write the file the course reads (./work/mnist.json.gz) from our verified MNIST, and its sample image:
    python -m legacy_mnist.dataset.write_aistudio --write work/mnist.json.gz --example-image work/example_0.jpg
(`--train/--val/--eval N` write only the first N images of each part.) Read it for training with
`python -m legacy_mnist.train --data-dir work/mnist.json.gz` (through `legacy_mnist.dataset.load_split`).
The file is gzip'd JSON `[[train_imgs, train_labels], [val_imgs, val_labels], [eval_imgs, eval_labels]]`
(50k/10k/10k images, each a list of 784 floats in [0, 1]). train = train + val (60k, the same order as the
IDX file, so `train_val_split(..., 10000)` gives back the course's split) and test = eval.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..common.untrusted import open_regular
from .aistudio_stream import read_layout
from .idx import COLS, GZIP_MAGIC, ROWS, floats_to_pixels

AISTUDIO_FILE = "mnist.json.gz"
PART_NAMES = ("train", "val", "eval")


@dataclass(frozen=True)
class AiStudioData:
    splits: dict  # "train" (train+val) / "test" (eval) -> (uint8 [N, 28, 28], int64 [N])
    scale: int | None  # 255 or 256: pixels were x/scale; None: neither fitted exactly (rounded x*255)


_CHUNK = 1 << 20


def _chunks(path: Path):
    """The file's decompressed bytes in chunks (gunzipped when it starts like gzip), read while parsing."""
    with open_regular(path, DataError) as handle:
        head = handle.read(2)
        handle.seek(0)
        if head != GZIP_MAGIC:
            if path.name.endswith(".gz"):
                raise DataError(f"{path}: not a gzip file (the .gz name says it should be)")
            yield from iter(lambda: handle.read(_CHUNK), b"")
            return
        try:
            with gzip.GzipFile(fileobj=handle) as stream:
                yield from iter(lambda: stream.read(_CHUNK), b"")
        except EOFError:
            raise DataError(f"{path}: truncated gzip data (the file was cut short)") from None
        except (OSError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None


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
    floats, counts, part_labels = read_layout(_chunks(path), str(path), PART_NAMES)
    labels = []
    for name, count, values in zip(PART_NAMES, counts, part_labels):
        where = f"{path} ({name} part)"
        if count != len(values):
            raise DataError(f"{where}: {count} images but {len(values)} labels")
        labels.append(_labels(values, where))
    pixels, scale = floats_to_pixels(floats.reshape(len(floats), ROWS * COLS), str(path))
    pixels = pixels.reshape(-1, ROWS, COLS)
    n_train = len(labels[0]) + len(labels[1])
    splits = {"train": (pixels[:n_train], np.concatenate(labels[:2])), "test": (pixels[n_train:], labels[2])}
    for split, (images, split_labels) in splits.items():
        if len(images) == 0:
            raise DataError(f"{path}: the {'train and val parts are' if split == 'train' else 'eval part is'} empty")
    return AiStudioData(splits, scale)


DEFAULT_COUNTS = {"train": 50000, "val": 10000, "eval": 10000}
_SCALE = 256  # the course's file holds x/256 (0.01171875 = 3/256): exact in binary, short in decimal
_PIXEL_TEXT = [repr(value / _SCALE) for value in range(256)]


def _image_rows(images: np.ndarray) -> str:
    table = _PIXEL_TEXT
    return ",".join("[" + ",".join([table[p] for p in row]) + "]" for row in images.reshape(len(images), -1).tolist())


def write_aistudio(path: str | Path, parts: dict) -> Path:
    """gzip'd JSON [[imgs, labels] x (train, val, eval)], images as 784 floats x/256; written atomically."""
    import io as _io

    from ..common.atomic import write_output

    buffer = _io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as stream:
        stream.write(b"[")
        for i, name in enumerate(PART_NAMES):
            images, labels = parts[name]
            stream.write(b"[[" if i == 0 else b",[[")
            stream.write(_image_rows(images).encode("ascii"))
            stream.write(b"],[" + ",".join(map(str, labels.tolist())).encode("ascii") + b"]]")
        stream.write(b"]")
    return write_output(path, buffer.getvalue(), option="write")


def write_example_image(path: str | Path, image: np.ndarray) -> Path:
    """The course's example_0.jpg: a dark digit on white (its load_image computes 1 - x/255)."""
    import io as _io

    from PIL import Image

    from ..common.atomic import write_output

    buffer = _io.BytesIO()
    Image.fromarray(255 - image).save(buffer, format="JPEG", quality=95)
    return write_output(path, buffer.getvalue(), option="example-image")

