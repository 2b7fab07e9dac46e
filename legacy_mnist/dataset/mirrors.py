"""MNIST's download mirrors: Paddle's own table, the classic mirrors, bounded retries, verified before publishing.

Not run directly; `legacy_mnist.dataset.sources` falls back to them when the cache lacks a file ($LEGACY_MNIST_MIRRORS overrides the list).
"""
from __future__ import annotations

import ast
import contextlib
import functools
import http.client
import importlib.util
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..common.atomic import atomic_write_bytes
from ..errors import DataError
from .idx import CANONICAL_MD5, decompress, md5_hex


ENV_MIRRORS = "LEGACY_MNIST_MIRRORS"
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

_MAX_DOWNLOAD_BYTES = 64 << 20  # the largest MNIST file is 9.9 MB gzipped  # the real member is 17 MB; refuse zip bombs before reading


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
