"""Inputs of infer: image files, directories, globs, standard input.

Not run directly; legacy_mnist.infer and legacy_mnist.inference.predict read their inputs through it.
"""
from __future__ import annotations

import contextlib
import glob
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import UserError


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm")


def _directory_images(directory: Path, text: str, recursive: bool = False) -> Iterator[tuple[str, str | None]]:
    """A directory's image files, sorted (with `recursive`, its subdirectories' too, in path order, never
    through a symlinked directory); an image-named entry that cannot be read (a symlink loop, a dangling
    link) comes out with an error instead of stopping the run."""
    found = False
    for path, error in _walk_images(directory, text, recursive):
        found = found or error is None
        yield path, error
    if not found:
        where = "this directory tree" if recursive else "this directory"
        yield text, f"{text}: no image files in {where} ({', '.join(IMAGE_SUFFIXES[:4])}, ...)"


def _walk_images(directory: Path, text: str, recursive: bool) -> Iterator[tuple[str, str | None]]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield text, f"{text}: cannot list this directory ({exc.strerror or exc})"
        return
    for entry in entries:
        path = str(directory / entry.name)
        if recursive and entry.is_dir(follow_symlinks=False):
            yield from _walk_images(directory / entry.name, path, recursive)
            continue
        if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            if entry.is_file():
                yield path, None
            elif not entry.is_dir():
                yield path, f"{path}: {'broken symbolic link' if entry.is_symlink() else 'not a regular file'}"
        except OSError as exc:  # ELOOP: a symlink loop
            yield path, f"{path}: cannot read ({exc.strerror or exc})"


def _glob_files(pattern: str) -> list[str]:
    """Files matching `pattern`, sorted. `**` does not descend into symlinked directories: glob.glob's does,
    and a link back up the tree (`ln -s . loop`) makes that walk exponential."""
    parts = Path(pattern).parts
    first = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    if "**" in parts[first:]:
        root = Path(*parts[:first]) if first else Path()
        with contextlib.suppress(ValueError, OSError):
            return sorted(str(p) for p in root.glob("/".join(parts[first:])) if p.is_file())
    return sorted(m for m in glob.iglob(pattern) if os.path.isfile(m))


def iter_image_paths(inputs: Iterable[str | os.PathLike], recursive: bool = False) -> Iterator[tuple[str, str | None]]:
    """Expand files, directories (their image files, sorted; `recursive`: and their subdirectories') and glob
    patterns to (path, error) pairs.

    A directory yields only files with an image suffix; a file named explicitly is always tried. Inputs
    that match nothing come out with an error, so they are reported like a bad file. A single str or path
    is one input (not a sequence of characters).
    """
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    for raw in inputs:
        text = os.fsdecode(raw)
        path = Path(text)
        if path.is_dir():
            yield from _directory_images(path, text, recursive)
        elif path.exists():
            yield text, None
        elif glob.has_magic(text):
            files = _glob_files(text)
            if not files:
                yield text, f"{text}: no files match this pattern"
            for match in files:
                yield match, None
        elif os.path.islink(text):
            yield text, f"{text}: broken symbolic link (or a symlink loop)"
        else:
            yield text, f"{text}: no such file"


STDIN = "-"


MAX_STDIN_BYTES = 64 << 20  # far above any photo of a digit; a stream without end must not fill the disk


def read_stdin_image(directory: Path) -> Path:
    """Copy one image from standard input into `directory` (the file preprocessing opens); UserError when
    there is none or it is implausibly large."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or sys.stdin.isatty():
        raise UserError("-: standard input is a terminal, not an image (e.g. `cat photo.png | ... infer -`)")
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise UserError(f"-: standard input holds more than {MAX_STDIN_BYTES >> 20} MB, not one image")
    path = directory / "stdin"
    path.write_bytes(data)
    return path
