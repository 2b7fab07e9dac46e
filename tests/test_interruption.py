"""kill -9 / SIGINT during training, checkpoint writes and export: python -m pytest -q tests/test_interruption.py"""
from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def train_args(epochs: int = 3, log_every: int = 1000) -> list[str]:
    return ["--model", "lenet5", "--train-limit", "3000", "--test-limit", "300", "--val-size", "300",
            "--epochs", str(epochs), "--no-plot", "--log-format", "json", "--log-every", str(log_every)]


ARGS = train_args()


def dirs(root: Path) -> list[str]:
    return ["--checkpoint-dir", str(root / "ck"), "--save-dir", str(root / "export")]


def train_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "legacy_mnist.train", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def final_record(stdout: str) -> dict:
    final = json.loads(stdout.strip().splitlines()[-1])
    assert final["event"] == "final"
    return {k: final[k] for k in ("best_epoch", "test_acc", "test_cost", "val_acc")}


@pytest.fixture(scope="module")
def straight(mnist_cache, tmp_path_factory):
    root = tmp_path_factory.mktemp("straight")
    out = train_cli(*ARGS, *dirs(root))
    assert out.returncode == 0, out.stderr
    return final_record(out.stdout), (root / "export" / "model.pdiparams").read_bytes()


def test_kill_9_at_random_moments_then_resume_matches(straight, tmp_path):
    rng = random.Random(4)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "legacy_mnist.train", *ARGS, *dirs(tmp_path), "--resume"],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 9.0))
        proc.kill()
        proc.wait()
        meta = tmp_path / "ck" / "last" / "meta.json"
        if meta.exists():
            json.loads(meta.read_text())  # always complete and parseable
    out = train_cli(*ARGS, *dirs(tmp_path), "--resume")
    assert out.returncode == 0, out.stderr
    assert final_record(out.stdout) == straight[0]
    assert (tmp_path / "export" / "model.pdiparams").read_bytes() == straight[1]


def test_kill_9_inside_a_checkpoint_write_keeps_the_previous_one(straight, tmp_path):
    # The 3rd checkpoint write is pass 1's `last` (pass 0 writes `best` then `last`).
    out = subprocess.run([sys.executable, "tests/fault_runner.py", "checkpoint", "3", "--", *ARGS, *dirs(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == -signal.SIGKILL
    meta = json.loads((tmp_path / "ck" / "last" / "meta.json").read_text())
    assert meta["epoch"] == 1 and meta["batch"] == 0  # pass 0's checkpoint, intact
    out = train_cli(*ARGS, *dirs(tmp_path), "--resume")
    assert out.returncode == 0, out.stderr
    assert final_record(out.stdout) == straight[0]


def test_kill_9_inside_the_export_keeps_the_previous_export(straight, tmp_path):
    first = train_cli(*ARGS, "--max-steps", "47", *dirs(tmp_path))  # pass 0 only (3000 / 64 -> 47 steps)
    assert first.returncode == 0, first.stderr
    before = digests(tmp_path / "export")
    out = subprocess.run([sys.executable, "tests/fault_runner.py", "export", "1", "--", *ARGS, *dirs(tmp_path),
                          "--resume"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == -signal.SIGKILL
    assert digests(tmp_path / "export") == before
    out = train_cli(*ARGS, *dirs(tmp_path), "--resume")
    assert out.returncode == 0, out.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export.tmp")]
    assert (tmp_path / "export" / "model.pdiparams").read_bytes() == straight[1]


def test_sigint_mid_pass_writes_checkpoint_and_exits_130(mnist_cache, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "legacy_mnist.train", *train_args(log_every=1),
                             *dirs(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if '"global_step": 10,' in line:
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT" in err and "Traceback" not in err
    meta = json.loads((tmp_path / "ck" / "last" / "meta.json").read_text())
    assert meta["epoch"] == 0 and meta["batch"] >= 10
