"""SHA256SUMS beside an export: written at export time, verified before anything reads the model.

Check one by hand:  cd inference_model/cnn && sha256sum -c SHA256SUMS
`parse_sums` reads every form GNU `sha256sum -c` accepts: `HEX  name` (text), `HEX *name` (`--binary`),
`HEX name` and `HEX<TAB>name`, `SHA256 (name) = HEX` (`--tag`), a leading `\\` for escaped names, upper- or
lower-case digits, CRLF line ends, `#` comments and blank lines. Anything else in the file - and a file
that is empty, not UTF-8, too large, a directory or a device - is an error, never a silent pass: a
SHA256SUMS that cannot be read protects nothing, and saying so is the only safe answer.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Mapping

from ..errors import ModelError
from ..common.untrusted import read_regular

CHECKSUM_FILE = "SHA256SUMS"
MAX_SUMS_BYTES = 1 << 20  # an export lists a handful of files; a megabyte of checksums is not one
_HEX = r"([0-9A-Fa-f]{64})"
_GNU = re.compile(_HEX + r"[ \t](.*)", re.S)  # the separator's second char (' ' or '*') stays in the name
_TAG = re.compile(r"SHA256 ?\((.*)\) ?= ?" + _HEX, re.S)


def _unescape(name: str) -> str | None:
    """sha256sum's escaping of names holding a backslash or newline: `\\\\` and `\\n`; None if malformed."""
    out, i = [], 0
    while i < len(name):
        if name[i] == "\\":
            following = name[i + 1 : i + 2]
            if following not in ("\\", "n"):
                return None
            out.append("\\" if following == "\\" else "\n")
            i += 2
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def _parse_line(line: str) -> tuple[str, str] | None:
    """(lower-case digest, name) of one checksum line, or None if it is not one."""
    line = line.lstrip(" \t")
    escaped = line.startswith("\\")
    if escaped:
        line = line[1:]
    tagged = _TAG.fullmatch(line)
    if tagged:
        name, digest = tagged.group(1), tagged.group(2)
    else:
        plain = _GNU.fullmatch(line)
        if not plain:
            return None
        digest, name = plain.group(1), plain.group(2)
        if name[:1] in (" ", "*"):  # `HEX  name` / `HEX *name`; `HEX name` is the single-space form
            name = name[1:]
    if escaped:
        name = _unescape(name)
    if not name:
        return None
    return digest.lower(), name


def parse_sums(data: bytes, where: str) -> dict[str, set[str]]:
    """Normalised name -> recorded digests (a name listed twice must match both); ModelError if unreadable."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"{where}: not UTF-8 text, so the model files cannot be checked") from None
    recorded: dict[str, set[str]] = {}
    for number, line in enumerate(text.split("\n"), 1):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parsed = _parse_line(line)
        if parsed is None:
            raise ModelError(f"{where}: line {number} is not a checksum line (expected `HEX  name` or "
                             f"`SHA256 (name) = HEX`), so the model files cannot be checked")
        digest, name = parsed
        recorded.setdefault(os.path.normpath(name), set()).add(digest)
    if not recorded:
        raise ModelError(f"{where}: holds no checksum lines, so the model files cannot be checked")
    return recorded


def checksum_lines(directory: Path, names: list[str]) -> str:
    """SHA256SUMS content for the files `names` in `directory` (the text form `sha256sum` writes)."""
    return "".join(f"{hashlib.sha256((directory / name).read_bytes()).hexdigest()}  {name}\n" for name in names)


def verify(directory: Path, contents: Mapping[str, bytes], *, required: bool) -> bool:
    """Check the bytes about to be used (file name -> content) against `directory`/SHA256SUMS.

    No SHA256SUMS: False (nothing to check). Otherwise every name listed must match; with `required` every
    name in `contents` must be listed (a program checked without its parameters protects neither). True when
    checked; ModelError (one line, naming the file) on any mismatch or an unreadable SHA256SUMS.
    """
    sums = Path(directory) / CHECKSUM_FILE
    if not os.path.lexists(sums):
        return False
    recorded = parse_sums(read_regular(sums, MAX_SUMS_BYTES, ModelError, "checksum file"), str(sums))
    listed = [name for name in contents if name in recorded]
    if not listed and not required:
        return False
    for name, data in contents.items():
        if name not in recorded:
            raise ModelError(f"{Path(directory) / name}: not listed in {sums}, so it cannot be checked; "
                             f"re-export, or delete {CHECKSUM_FILE} to load it unchecked")
        digest = hashlib.sha256(data).hexdigest()
        if recorded[name] != {digest}:
            raise ModelError(f"{Path(directory) / name}: does not match the SHA-256 recorded in {CHECKSUM_FILE} "
                             f"at export (corrupted or replaced file); re-export, or delete {CHECKSUM_FILE} to "
                             "load it anyway")
    return True
