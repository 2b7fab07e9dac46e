"""SIGINT/SIGTERM during a streaming command: stop between two output rows, never inside one.

Not run directly; `python -m legacy_mnist.infer` installs a `RowGuard` once its model is loaded. Paddle's
own SIGTERM handler prints a 13-line C++ stack onto stdout and the default SIGINT may land in the middle
of a row, so both signals are turned into an exception - at once, or, while a row is being written, right
after that row (common/signal_holds.py, which also keeps them out of the moments when stdout/stderr are
being pointed at a temp file and back). `run_cli` turns the exception into one `error:` line and exit 130 or
143. A second signal while a row is being written stops at once.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from ..common import signal_holds


class RowGuard:
    """The signal handlers of `signal_holds`, with `with guard.row():` as the block a signal waits for."""

    def install(self) -> "RowGuard":
        signal_holds.install()
        return self

    @contextlib.contextmanager
    def row(self) -> Iterator[None]:
        with signal_holds.held():
            yield
