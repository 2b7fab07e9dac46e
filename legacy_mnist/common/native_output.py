"""What C/C++ libraries print on stdout/stderr while they read a stranger's file, kept off the user's streams.

Not run directly; image decoding (libtiff's warnings) and model loading (libprotobuf's parse errors) run
inside `native_output_captured()`. Batch scripts parse our stdout (CSV rows) and stderr (`error:` lines):
a library's own lines there would read as data or as a second error. What was printed comes back, so the
caller can quote it in its one-line error. The switch to the temp file and back runs whole (`signal_holds.held`):
a signal in between would leave both streams there.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from typing import Iterator

from .signal_holds import held


@contextlib.contextmanager
def native_output_captured(enabled: bool = True) -> Iterator[list[str]]:
    """Send the process's stdout/stderr - the file descriptors, so C/C++ prints too, and Python's streams,
    which may not be those descriptors (pytest, notebooks) - to a temp file inside the block; the lines that
    were printed come back in the yielded list (at the block's end). `enabled` False: a no-op (verbose runs)."""
    lines: list[str] = []
    if not enabled:
        yield lines
        return
    for stream in (sys.stdout, sys.stderr):  # what Python buffered goes out first, where it belongs
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = os.dup(1), os.dup(2)
    except OSError:  # no such descriptors (an embedded interpreter): nothing to protect
        yield lines
        return
    python_level = io.StringIO()
    streams = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as sink:
        try:
            with held():  # a signal between these statements would leave the streams in the temp file
                os.dup2(sink.fileno(), 1)
                os.dup2(sink.fileno(), 2)
                sys.stdout = sys.stderr = python_level
            yield lines
        finally:
            with held():
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                sys.stdout, sys.stderr = streams
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
                sink.seek(0)
                text = sink.read(1 << 20).decode("utf-8", "replace") + python_level.getvalue()
                lines.extend(line.strip() for line in text.splitlines() if line.strip())
