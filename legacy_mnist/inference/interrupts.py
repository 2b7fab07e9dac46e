"""SIGINT/SIGTERM during a streaming command: stop between two output rows, never inside one.

Not run directly; `python -m legacy_mnist.infer` installs a `RowGuard` once its model is loaded. Paddle's
own SIGTERM handler prints a 13-line C++ stack onto stdout and the default SIGINT may land in the middle
of a row, so both signals are turned into an exception here - at once, or, while a row is being written,
right after that row. `run_cli` turns the exception into one `error:` line and exit 130 or 143. A second
signal while a row is being written stops at once.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from ..errors import Terminated


def _stop(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


class RowGuard:
    """Signal handlers for SIGINT/SIGTERM that respect `with guard.row():` blocks."""

    def __init__(self):
        self._writing = False
        self._pending: int | None = None

    def install(self) -> "RowGuard":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self._writing and self._pending is None:
            self._pending = signum  # finish the row first
            return
        raise _stop(signum)

    @contextlib.contextmanager
    def row(self) -> Iterator[None]:
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
        if self._pending is not None:
            raise _stop(self._pending)
