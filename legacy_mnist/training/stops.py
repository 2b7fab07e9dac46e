"""Why training stops early: divergence, interruption (SIGINT/SIGTERM), and the checks that notice them.

Not run directly; `python -m legacy_mnist.train` raises them (`TrainingDiverged` exits 1, `TrainingInterrupted` keeps a resumable checkpoint).
"""
from __future__ import annotations

import math
import signal
import threading
from pathlib import Path

import numpy as np

from ..errors import PipelineFailure, ReportedError


class TrainingStopped(ReportedError):
    """Training stopped before the end; `where` says at which step and what checkpoint is on disk."""

    kind = ""

    def __init__(self, message: str, *, epoch: int, batch: int, global_step: int, reason: str,
                 checkpoint: Path | None):
        super().__init__(message)
        self.where = dict(epoch=epoch, step=batch, global_step=global_step, reason=reason,
                          checkpoint=None if checkpoint is None else str(checkpoint))


class TrainingDiverged(TrainingStopped, PipelineFailure):
    """The cost became NaN or infinite; the last good checkpoint is kept."""

    kind = "diverged"


class TrainingInterrupted(TrainingStopped):
    """SIGINT/SIGTERM arrived; a consistent checkpoint was written before stopping (exit 128 + signal)."""

    kind = "interrupted"

    def __init__(self, message: str, exit_code: int, **where):
        super().__init__(message, **where)
        self.exit_code = exit_code


class _StopFlag:
    """Turns SIGINT/SIGTERM into a request to stop after the current step."""

    def __init__(self, repeated_sigterm_waits: bool = False):
        self.signum: int | None = None
        self._previous: dict = {}
        # paddle.distributed.launch stops a rank with SIGTERM three times in 0.4 s: one request, not three.
        self.repeated_sigterm_waits = repeated_sigterm_waits

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.repeated_sigterm_waits and signum == self.signum == signal.SIGTERM:
            return
        if self.signum is not None:  # a second signal: stop right away
            raise KeyboardInterrupt
        self.signum = signum

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def _finite(value: float) -> bool:
    return math.isfinite(value)


WEIGHT_LIMIT = 1e8  # a healthy MNIST net's weights stay within ~10; far below where activations overflow
WATCHED_SIZE = 65536  # parameters larger than this are not checked each step (see _run_pass)


def _largest_weight(tensors) -> float:
    """max |w| over the tensors; NaN if any value is NaN."""
    return max((float(np.abs(np.asarray(tensor)).max()) for tensor in tensors), default=0.0)
