"""Crash-safe file and directory writes: readers only ever see the old or the new version, never half.

Not run directly. Used by the data cache, checkpoints and exports. A `kill -9` at any moment leaves either
the previous complete file/directory or the new one; leftovers are hidden `.tmp-*` names cleaned next time.
`check_output` refuses an output path that cannot be written before any work is done.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ..errors import UserError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` through a temp file in the same directory, fsync, then rename.

    Only a regular file (or nothing) is ever replaced: a device, FIFO or socket at `path` is refused.
    """
    path = Path(path)
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode) and not path.is_symlink():
        raise UserError(f"{path}: exists and is not a regular file; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_current_umask())  # mkstemp's private 0600 would stick
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _sync_tree(root: Path) -> None:
    for item in root.rglob("*"):
        if item.is_file():
            with contextlib.suppress(OSError):
                fd = os.open(item, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    fsync_dir(root)


def replace_dir(staged: Path, final: Path) -> Path:
    """Put the complete directory `staged` at `final`, replacing any previous one in a single step."""
    staged, final = Path(staged), Path(final)
    _sync_tree(staged)
    if final.exists() and _exchange(staged, final):
        shutil.rmtree(staged, ignore_errors=True)  # `staged` now holds the previous version
    else:
        if final.exists():
            # Fallback without an atomic swap: the old copy stays under a hidden name until the new one
            # is in place, so a crash leaves a recoverable `.old-*` directory (see `recover_dir`).
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.rename(final, old)
            os.rename(staged, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staged, final)
    fsync_dir(final.parent)
    return final


def recover_dir(final: Path) -> None:
    """Undo a crash between the two renames of the fallback path and drop stale staging directories."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    olds = sorted(final.parent.glob(f".{final.name}.old-*"))
    if olds and not final.exists():
        os.rename(olds[-1], final)
        olds = olds[:-1]
    for stale in olds + list(final.parent.glob(f".{final.name}.tmp-*")):
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def _one_writer(final: Path) -> Iterator[None]:
    """Serialise writers of `final` across processes (a hidden `.<name>.lock` beside it).

    Without it a second writer's `recover_dir` would take the first writer's live staging directory for a
    crash leftover and delete it mid-write (two trainings sharing a --save-dir).
    """
    with open(final.parent / f".{final.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def staged_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden directory next to `final`; on success it replaces `final` atomically.

    On any exception (or a kill) `final` is left exactly as it was. Writers of the same `final` take turns.
    A file at `final` is refused: swapping it for a directory would silently move the user's file away.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise UserError(f"{final}: exists and is not a directory; refusing to replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    with _one_writer(final):
        recover_dir(final)
        staged = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        os.chmod(staged, 0o777 & ~_current_umask())  # mkdtemp's private 0700 would outlive the rename
        try:
            yield staged
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        replace_dir(staged, final)


# ----------------------------------------------------------------------------------------- output files
_STREAM_LINKS = ("/proc/", "/dev/fd/")  # /dev/stdout -> /proc/self/fd/1: the caller's own stream
FIFO_WAIT_S = 30.0  # how long a FIFO output waits for its reader before that is an error


def _own_stream_link(path: Path) -> bool:
    """True when `path` is (or links through) /dev/stdout, /dev/stderr, /dev/fd/N or /proc/.../fd/N."""
    text = os.fspath(path)
    for _ in range(40):  # the kernel's own symlink limit
        if text.startswith(_STREAM_LINKS) or text in ("/dev/stdout", "/dev/stderr"):
            return True
        if not os.path.islink(text):
            return False
        text = os.path.join(os.path.dirname(text), os.readlink(text))
    return False


def _writable_device(path: Path) -> bool:
    """The character devices an output may be: the null device and terminals (never /dev/mem, /dev/port, ...).
    The null device is known by its device number, so a container's or chroot's node of it counts too."""
    real = os.path.realpath(path)
    if real.startswith(("/dev/pts/", "/dev/tty", "/dev/console")):
        return True
    try:
        return os.stat(real).st_rdev == os.stat(os.devnull).st_rdev
    except OSError:
        return False


def _is_stream_path(path: Path) -> bool:
    """True when `path` is written in place: a FIFO, /dev/null, a terminal, or the caller's own stream."""
    if _own_stream_link(path):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and _writable_device(path))


def _refusal(path: Path) -> str | None:
    """Why an existing output path must not be written or replaced (None: fine)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None  # a new file (or a link to one to be made); a file among the parents is reported later
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a directory, expected a file name"
    if stat.S_ISBLK(mode):
        return "is a block device; refusing to write there"
    if stat.S_ISCHR(mode) and not (_writable_device(path) or _own_stream_link(path)):
        return "is a device; refusing to write there"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return None


def write_output(path: str | os.PathLike, data: bytes, option: str = "output") -> Path:
    """Write a user-named output file: a regular (or new) file is replaced atomically - through a symlink,
    its target, so the link stays -, while a FIFO, a character device (/dev/null, a terminal) or the caller's
    own stream (/dev/stdout, /dev/fd/N) is written in place, never replaced by a regular file."""
    path = Path(path)
    problem = _refusal(path)
    if problem:
        raise UserError(f"--{option} {path}: {problem}")
    if not _is_stream_path(path):
        return atomic_write_bytes(os.path.realpath(path), data)
    fd = _open_stream(path, option)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def _open_stream(path: Path, option: str) -> int:
    """Open an existing stream for writing, without creating or truncating it; a FIFO nobody reads is an error
    after FIFO_WAIT_S, not a hang."""
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    deadline = time.monotonic() + FIFO_WAIT_S
    while True:
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return fd
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:  # ENXIO: a FIFO with no reader yet
                reason = "no process is reading this FIFO" if exc.errno == errno.ENXIO else (exc.strerror or exc)
                raise UserError(f"--{option} {path}: cannot write there ({reason})") from None
            time.sleep(0.05)


def check_output(path: str | os.PathLike, option: str, *, directory: bool) -> Path:
    """Refuse, before any work, an output path that cannot be written: a one-line UserError naming `option`.

    `directory`: the path will be a directory replaced whole by `staged_dir` (an existing file there is
    refused, never replaced); otherwise a file written by `atomic_write_bytes` (a directory there is
    refused). Both write through a sibling temp name, so the parent must be writable; missing parents are
    created, as the write itself would.
    """
    path = Path(path)
    if directory and path.exists() and not path.is_dir():
        raise UserError(f"{option} {path}: exists and is not a directory")
    if not directory:
        problem = _refusal(path)
        if problem:
            raise UserError(f"{option} {path}: {problem}")
        if _is_stream_path(path):
            return path  # written in place, nothing to probe
        path = Path(os.path.realpath(path))
    nearest = next((p for p in path.parents if p.exists()), None)
    if nearest is not None and not nearest.is_dir():
        raise UserError(f"{option} {path}: {nearest} is a file, not a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    return path
