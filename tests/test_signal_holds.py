"""common/signal_holds.py: a signal that lands while stdout/stderr are being switched waits for the switch."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from legacy_mnist.common import signal_holds

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def held_handlers():
    previous = {signum: signal.getsignal(signum) for signum in signal_holds.HELD_SIGNALS}
    signal_holds.install()
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


# Run in a child process: a regression leaves the child's stdout/stderr in a temp file, not pytest's.
SWITCH_WITH_A_SIGNAL = r"""
import json, os, signal, sys, threading
from legacy_mnist.common import native_output, signal_holds
signum, report = int(sys.argv[1]), sys.argv[2]
where = lambda fd: [os.fstat(fd).st_dev, os.fstat(fd).st_ino]
before = [where(1), where(2), id(sys.stdout), id(sys.stderr)]
real_dup2, calls = os.dup2, []

def dup2_then_signal(fd, fd2, *args):
    real_dup2(fd, fd2, *args)
    calls.append(fd2)
    if len(calls) in (1, 3):  # after the first switch of each direction: between two dup2 calls
        signal.pthread_kill(threading.main_thread().ident, signum)

native_output.os.dup2 = dup2_then_signal
signal_holds.install()
raised = None
try:
    with native_output.native_output_captured():
        print("inside")
except BaseException as exc:
    raised = type(exc).__name__
after = [where(1), where(2), id(sys.stdout), id(sys.stderr)]
with open(report, "w") as handle:
    json.dump({"raised": raised, "dup2_calls": len(calls), "restored": after == before}, handle)
"""


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, "KeyboardInterrupt"), (signal.SIGTERM, "Terminated")])
def test_a_signal_between_the_stream_switches_leaves_the_streams_where_they_were(tmp_path, signum, raised):
    """Before: SIGINT right after the first dup2 left stdout and stderr in the temp file, so `error:
    interrupted` went there and the run ended with no error line."""
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-c", SWITCH_WITH_A_SIGNAL, str(int(signum)), str(report)], cwd=REPO,
                   env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, capture_output=True)
    result = json.loads(report.read_text())
    assert result == {"raised": raised, "dup2_calls": 4, "restored": True}, result


def _signal_main_thread(signum=signal.SIGINT):
    """Deliver to this (the main) thread, then run bytecode: Python runs its handler at the loop's first check
    (os.kill may wake another thread - Paddle's, OpenVINO's - and the handler would run later)."""
    signal.pthread_kill(threading.main_thread().ident, signum)
    for _ in range(1000):
        pass


def test_a_signal_inside_a_held_block_is_raised_after_it_and_a_second_at_once(held_handlers):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signal_holds.held():
            _signal_main_thread()
            done.append("after the signal")
    assert done == ["after the signal"]
    with pytest.raises(KeyboardInterrupt):
        with signal_holds.held():
            _signal_main_thread()
            _signal_main_thread()
            done.append("after the second signal")
    with signal_holds.held():  # the first signal of that block was raised by the second: nothing is left held
        done.append("a later block")
    assert done == ["after the signal", "a later block"]
