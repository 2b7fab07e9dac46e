"""SIGINT/SIGTERM held back over statements that must run together, then raised when they are done.

Not run directly; `python -m legacy_mnist.infer` calls `install()` once its model is loaded. Inside a
`held()` block a signal is only noted; it is raised as KeyboardInterrupt (SIGINT) or Terminated (SIGTERM)
when the outermost block ends. Two kinds of block use it: an output row written whole (inference/outputs.py),
and the few statements that point stdout/stderr at a temp file and back (common/native_output.py) - a
signal between two of those left both streams in the temp file, and the run's last `error:` line was lost.
A second signal inside a block is raised at once (a row stuck on a full pipe must not hold Ctrl-C off).
Without `install()` (the Python API, other commands), Python's own handlers apply and blocks change nothing.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from ..errors import Terminated

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_depth = 0  # how many held() blocks are running
_pending: int | None = None  # the signal that arrived inside one


def stop_for(signum: int) -> BaseException:
    """The exception a signal becomes: `run_cli` turns it into one `error:` line and exit 130 or 143."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _handle(signum, frame) -> None:
    global _pending
    if _depth and _pending is None:
        _pending = signum
        return
    _pending = None  # raised now, in place of the one held
    raise stop_for(signum)


def install() -> None:
    """Handle SIGINT/SIGTERM here, from the main thread (where Python runs signal handlers)."""
    if threading.current_thread() is threading.main_thread():
        for signum in HELD_SIGNALS:
            signal.signal(signum, _handle)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Run the block whole; a signal that arrives inside is raised after it."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None:  # also when the block raised: stopping was asked for first
            signum, _pending = _pending, None
            raise stop_for(signum)
