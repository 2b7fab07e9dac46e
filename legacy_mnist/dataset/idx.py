"""IDX files (the MNIST on-disk format): strict parsing, writing, and float-pixel conversion.

Not run directly; `legacy_mnist.dataset.load_split` reads every MNIST source through here.
An IDX file is a big-endian header (0x00 0x00, type 0x08 = unsigned byte, number of dimensions, then
one uint32 per dimension) followed by the raw bytes. Anything that does not match exactly - wrong magic,
images that are not 28x28, a length that disagrees with the header, labels above 9, a `.gz` that is not
gzip or is cut short - raises a one-line `DataError` naming the file, so a bad file is never used.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..common.untrusted import open_regular

IMAGE_MAGIC = 0x00000803  # ubyte, 3 dimensions: count, rows, cols
LABEL_MAGIC = 0x00000801  # ubyte, 1 dimension: count
ROWS = COLS = 28
NUM_CLASSES = 10

# The four standard names; the cache stores them gzipped (`<name>.gz`), as paddle.dataset.mnist did.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = SPLIT_FILES["train"] + SPLIT_FILES["test"]
# md5 of the *uncompressed* canonical files: the check every source must pass (gzip bytes may differ).
CANONICAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 2000  # rows per float64 chunk in floats_to_pixels: bounds the temporary copies (12.5 MB each)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def decompress(data: bytes, name: str) -> bytes:
    """gunzip the IDX file `data` (the contents of file `name`), never past what its header says, or raise
    DataError saying why it is unusable."""
    if not data.startswith(GZIP_MAGIC):
        raise DataError(f"{name}: not a gzip file (the .gz name says it should be)")
    return _gunzip_bounded(io.BytesIO(data), name)


def _gunzip_bounded(handle, name: str) -> bytes:
    try:
        with gzip.GzipFile(fileobj=handle) as stream:
            return _read_bounded(stream, name)
    except EOFError:
        raise DataError(f"{name}: truncated gzip data (the file was cut short)") from None
    except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{name}: corrupt gzip data ({exc})") from None


# MNIST has 70,000 images; a file that says it holds more is not MNIST (and would cost its size in memory).
MAX_IMAGES = 70_000
_HEADER_BYTES = {IMAGE_MAGIC: 16, LABEL_MAGIC: 8}
_READ_CHUNK = 1 << 20


def _expected_size(head: bytes, name: str) -> int | None:
    """Total bytes the IDX header says the file holds (None for a foreign magic: parse_* names it)."""
    magic = struct.unpack_from(">I", head)[0]
    if magic not in _HEADER_BYTES or len(head) < _HEADER_BYTES[magic]:
        return None
    count = struct.unpack_from(">I", head, 4)[0]
    if count > MAX_IMAGES:
        what = "images" if magic == IMAGE_MAGIC else "labels"
        raise DataError(f"{name}: the header says {count:,} {what}; MNIST has {MAX_IMAGES:,} (not an MNIST file)")
    if magic == LABEL_MAGIC:
        return 8 + count
    rows, cols = struct.unpack_from(">II", head, 8)
    if (rows, cols) != (ROWS, COLS):
        return None  # parse_images reports the dimensions; nothing more needs reading
    return 16 + count * ROWS * COLS


def _read_bounded(stream, name: str) -> bytes:
    """Read an IDX stream (raw or gunzipping) no further than its header allows: a file that goes on past
    that, or a gzip bomb, costs at most what MNIST itself would."""
    head = stream.read(16)
    if len(head) < 8:
        return head
    expected = _expected_size(head, name)
    if expected is None:
        return head
    parts, have = [head], len(head)
    while have <= expected:
        chunk = stream.read(min(_READ_CHUNK, expected + 1 - have))
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)  # one byte past `expected` when there is more: parse_* names what is wrong


def read_file_bytes(path: str | Path) -> bytes:
    """The uncompressed IDX bytes of `path` (gunzipped when the name ends in .gz), read while streaming and
    never past what the header says: regular files only (a FIFO or /dev/zero is refused, not read forever)."""
    path = Path(path)
    with open_regular(path, DataError) as handle:
        if not path.name.endswith(".gz"):
            try:
                return _read_bounded(handle, str(path))
            except OSError as exc:
                raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if handle.read(2) != GZIP_MAGIC:
            raise DataError(f"{path}: not a gzip file (the .gz name says it should be)")
        handle.seek(0)
        return _gunzip_bounded(handle, str(path))


def _header(data: bytes, name: str, magic: int, ndim: int) -> tuple[int, ...]:
    size = 4 + 4 * ndim
    if len(data) >= 4:  # the magic first: a swapped or foreign file is named as such, not as "too short"
        found = struct.unpack_from(">I", data)[0]
        if found != magic:
            what = "image" if magic == IMAGE_MAGIC else "label"
            raise DataError(f"{name}: wrong magic number 0x{found:08x} for an IDX {what} file "
                            f"(expected 0x{magic:08x})")
    if len(data) < size:
        raise DataError(f"{name}: {len(data)} bytes is too short for an IDX header ({size} bytes)")
    return struct.unpack_from(f">{ndim}I", data, 4)


def _length_problem(have: int, expected: int, holds: str) -> str:
    if have < expected:
        return f"truncated: {have} bytes, the header ({holds}) needs {expected}"
    return f"has trailing bytes: it goes on past the {expected} bytes the header ({holds}) needs"  # read no further


def parse_images(data: bytes, name: str) -> np.ndarray:
    """IDX image bytes -> read-only uint8 [N, 28, 28] (a view of `data`, no copy)."""
    count, rows, cols = _header(data, name, IMAGE_MAGIC, 3)
    if (rows, cols) != (ROWS, COLS):
        raise DataError(f"{name}: images are {rows}x{cols}, MNIST images are {ROWS}x{COLS}")
    expected = 16 + count * rows * cols
    if len(data) != expected:
        raise DataError(f"{name}: {_length_problem(len(data), expected, f'{count} images')}")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)


def parse_labels(data: bytes, name: str) -> np.ndarray:
    """IDX label bytes -> int64 [N], every label checked to be a digit 0..9."""
    (count,) = _header(data, name, LABEL_MAGIC, 1)
    expected = 8 + count
    if len(data) != expected:
        raise DataError(f"{name}: {_length_problem(len(data), expected, f'{count} labels')}")
    labels = np.frombuffer(data, dtype=np.uint8, offset=8)
    if count and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"{name}: label {int(labels.max())} is not a digit 0..9")
    return labels.astype(np.int64)


def check_pair(images: np.ndarray, labels: np.ndarray, image_name: str, label_name: str) -> None:
    if len(images) != len(labels):
        raise DataError(f"{image_name}: {len(images)} images but {label_name} has {len(labels)} labels")
    if len(images) == 0:
        raise DataError(f"{image_name}: contains no images")


def encode_images(images: np.ndarray) -> bytes:
    images = np.ascontiguousarray(images, dtype=np.uint8).reshape(-1, ROWS, COLS)
    return struct.pack(">IIII", IMAGE_MAGIC, len(images), ROWS, COLS) + images.tobytes()


def encode_labels(labels: np.ndarray) -> bytes:
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError("labels must be digits 0..9")
    return struct.pack(">II", LABEL_MAGIC, len(labels)) + labels.astype(np.uint8).tobytes()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (mtime 0), so the same content always gives the same file."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def floats_to_pixels(values: np.ndarray, name: str) -> tuple[np.ndarray, int | None]:
    """Pixels stored as floats in [0, 1] -> (uint8 pixels, same shape; scale).

    Pickled/JSON MNIST copies store x/255 or x/256 (deeplearning.net's mnist.pkl.gz uses 256). The scale is
    the one under which every value is (within float32 rounding) an integer; `None` means neither fits
    exactly and x*255 was rounded, so the result cannot be the canonical bytes. Works in row chunks so a
    70k-image float array needs no float64 copy of the whole.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "fiu":
        raise DataError(f"{name}: pixel values are not numbers (array of {values.dtype})")
    if values.size == 0:
        return np.zeros(values.shape, np.uint8), 255
    flat = values.reshape(len(values), -1) if values.ndim > 1 else values.reshape(1, -1)

    def chunks():
        for start in range(0, len(flat), _CHUNK):
            yield flat[start:start + _CHUNK].astype(np.float64)

    low, high = np.inf, -np.inf
    for chunk in chunks():
        if not np.isfinite(chunk).all():
            raise DataError(f"{name}: pixel values are not all finite numbers")
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if low < 0.0 or high > 1.0:
        raise DataError(f"{name}: pixel values span [{low:g}, {high:g}], expected floats in [0, 1]")

    def fits(scale: int) -> bool:
        return high * scale <= 255.0 + 1e-3 and all(
            float(np.abs(c * scale - np.rint(c * scale)).max()) < 1e-3 for c in chunks())

    # 255 is tried first: when both fit (only values <= 2/255 present) x/255 is the usual encoding
    scale = next((s for s in (255, 256) if fits(s)), None)
    factor = scale or 255
    # Each chunk becomes uint8 at once: a list of float64 chunks would hold 8x the pixels (376 MB for 60k).
    pixels = np.concatenate([np.clip(np.rint(c * factor), 0, 255).astype(np.uint8) for c in chunks()])
    return pixels.reshape(values.shape), scale

