"""Fuzzing: mutated PNG/JPEG/TIFF files and model files through the real readers, bounded in time.

Run:  python -m pytest -q tests/test_fuzz.py
      LEGACY_MNIST_FUZZ_SEED=7 LEGACY_MNIST_FUZZ_SCALE=20 python -m pytest -q tests/test_fuzz.py   (longer hunts)
Each runs tests/fuzz_runner.py in a subprocess: a native crash is a negative exit status, a hang the timeout;
anything but a one-line DataError/ModelError or a normal answer is printed there and fails the run. The
seed is fixed, so CI runs the same few hundred mutants every time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from test_reliability import ENV, REPO

RUNNER = Path(__file__).with_name("fuzz_runner.py")
SEED = int(os.environ.get("LEGACY_MNIST_FUZZ_SEED", "1"))
SCALE = int(os.environ.get("LEGACY_MNIST_FUZZ_SCALE", "1"))


def run_fuzz(*args, timeout: float) -> dict:
    done = subprocess.run([sys.executable, str(RUNNER), *map(str, args)], capture_output=True, text=True, env=ENV,
                          timeout=timeout * SCALE, cwd=REPO)
    assert done.returncode == 0, f"exit {done.returncode} (negative: killed by a signal)\n{done.stderr[-4000:]}"
    assert done.stderr == "", done.stderr[-4000:]  # not even a native decoder's warning
    *before, last = done.stdout.splitlines()
    assert before == [], before[:5]
    return json.loads(last)


def test_mutated_png_jpeg_tiff_never_crash_hang_or_escape():
    summary = run_fuzz("images", 1500 * SCALE, SEED, timeout=120)  # 500 each of PNG, JPEG and TIFF: ~3 s
    assert summary["unexpected"] == 0 and summary["decoded"] + summary["refused"] == 1500 * SCALE, summary
    assert summary["decoded"] > 20 and summary["refused"] > 100, summary  # both paths really exercised


def test_mutated_model_files_never_crash_hang_or_escape(tiny_exports):  # noqa: F811
    summary = run_fuzz("models", tiny_exports.legacy, 600 * SCALE, SEED, timeout=180)  # ~10 s
    assert summary["unexpected"] == 0 and summary["loaded"] + summary["refused"] == 600 * SCALE, summary
    assert summary["loaded"] > 10 and summary["refused"] > 100, summary
