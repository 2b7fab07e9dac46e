"""Run `python -m legacy_mnist.train` with a SIGKILL injected inside an atomic write (tests only).

Usage: python tests/fault_runner.py KIND N -- TRAIN_ARGS...
KIND is `checkpoint` or `export`; the process kills itself with SIGKILL during the Nth staged write of that
kind, after the new files are complete but before they replace the old ones - the worst moment for a crash.
"""
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from legacy_mnist.common import atomic
from legacy_mnist import export, train

kind, nth = sys.argv[1], int(sys.argv[2])
args = sys.argv[sys.argv.index("--") + 1:]
calls = {"n": 0}
original = atomic.replace_dir


def replace_dir_then_die(staged, final):
    is_export = (staged / "model.pdiparams").exists() and (staged / "metrics.json").exists()
    if (kind == "export") == is_export:
        calls["n"] += 1
        if calls["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
    return original(staged, final)


atomic.replace_dir = replace_dir_then_die
sys.exit(train.main(args))
