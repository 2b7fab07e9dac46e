"""Reading files that come from strangers: regular files only, sizes capped, each file's bytes read once.

Not run directly; model, checkpoint, checksum, image and data readers open their inputs through here.
A FIFO named like a model or an IDX file would block the reader forever, `/dev/zero` would never end and a
symlink can point anywhere, so a path is opened without blocking, checked with `fstat` on the open
descriptor (the same file that is then read, whatever the name points to a moment later) and refused
unless it is a regular file. Sizes are checked against a cap before reading, and again while reading.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from ..errors import ReportedError

_KINDS = ((stat.S_ISDIR, "is a directory"), (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
          (stat.S_ISCHR, "is a character device, not a regular file"),
          (stat.S_ISBLK, "is a block device, not a regular file"), (stat.S_ISSOCK, "is a socket, not a regular file"))


def file_kind_problem(mode: int) -> str | None:
    """Why a file of this `st_mode` is not a regular file (None when it is one)."""
    if stat.S_ISREG(mode):
        return None
    return next((text for test, text in _KINDS if test(mode)), "is not a regular file")


def _size_text(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size:,} bytes"


def open_regular(path: str | os.PathLike, error: type[ReportedError]) -> BinaryIO:
    """Open `path` for reading if it is a regular file (after symlinks), else raise `error` naming it."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path}: symbolic link loop") from None
        if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket, or a FIFO-like special file
            raise error(f"{path}: is a socket or special file, not a regular file") from None
        raise error(f"{path}: cannot open ({exc.strerror or exc})") from None
    try:
        problem = file_kind_problem(os.fstat(fd).st_mode)
        if problem:
            raise error(f"{path}: {problem}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, limit: int, error: type[ReportedError], what: str = "file") -> bytes:
    """The whole content of regular file `path`, at most `limit` bytes (else `error`, before reading it)."""
    with open_regular(path, error) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {_size_text(size)} is more than any {what} can be (limit {_size_text(limit)})")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:  # grew while being read
        raise error(f"{path}: more than any {what} can be (limit {_size_text(limit)})")
    return data
