"""Data-parallel scaling on this machine, as users run it: `python -m legacy_mnist.train` with and without --nproc.

Run by the driver:  python -m legacy_mnist.benchmarks.workers.scaling run|allreduce SPEC_JSON
`run` starts the training command (--log-format json), timestamps rank 0's epoch records as they arrive and
stops the job (SIGTERM, as a user's Ctrl-C) at the end of the first pass whose test accuracy reaches the
target. `allreduce` runs legacy_mnist/benchmarks/workers/allreduce.py under paddle.distributed.launch and relays its figures.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from legacy_mnist.benchmarks.workers.common import RESULT_PREFIX, main_guard

REPO = Path(__file__).resolve().parents[3]


def train_command(spec: dict) -> list[str]:
    work = Path(spec["workdir"])
    command = [sys.executable, "-m", "legacy_mnist.train", "--model", "cnn", "--log-format", "json",
               "--log-every", str(10**9), "--no-plot", "--epochs", str(spec["max_epochs"]),
               "--batch-size", str(spec["batch_size"]), "--seed", str(spec["seed"]), "--val-size", str(spec["val_size"]),
               "--num-threads", str(spec["threads"]), "--checkpoint-dir", str(work / "ck"),
               "--save-dir", str(work / "export")]
    if spec.get("train_limit"):
        command += ["--train-limit", str(spec["train_limit"])]
    if spec["nproc"] > 1:
        command += ["--nproc", str(spec["nproc"])]
    return command


def summarize(passes: list[dict], target: float) -> dict:
    """Figures from the epoch records (each with `wall`, seconds since the command started)."""
    reached = next((p for p in passes if p["test_acc"] >= target), None)
    speeds = [p["train_images_per_sec"] for p in passes]
    return {
        "img_per_s": statistics.median(speeds) if speeds else None,
        "seconds": reached["wall"] if reached else None,
        "passes_to_target": passes.index(reached) + 1 if reached else None,
        "test_acc": [p["test_acc"] for p in passes],
        "pass_seconds": [p["seconds"] for p in passes],
        "first_record_s": passes[0]["wall"] - passes[0]["seconds"] if passes else None,
    }


def run_training(spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    start = time.perf_counter()
    proc = subprocess.Popen(train_command(spec), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=env)
    passes = []
    try:
        for line in proc.stdout:
            record = json.loads(line) if line.startswith("{") else {}
            if record.get("event") == "epoch":
                passes.append(dict(record, wall=time.perf_counter() - start))
                if record["test_acc"] >= spec["target"]:
                    proc.send_signal(signal.SIGTERM)  # the run stops at the target, as the t99 section's
                    break
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    if not passes:
        tail = [line for line in err.strip().splitlines() if line.strip()]
        raise RuntimeError(f"no pass finished (exit {proc.returncode}): {tail[-1] if tail else 'no output'}")
    return dict(summarize(passes, spec["target"]), nproc=spec["nproc"], threads=spec["threads"])


def run_allreduce(spec: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="legacy-mnist-allreduce-") as logs:
        proc = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node",
                               str(spec.get("nproc", 2)), "--log_dir", logs, str(Path(__file__).resolve().with_name("allreduce.py")),
                               json.dumps(spec)], capture_output=True, text=True, cwd=REPO, timeout=600)
        log = (Path(logs) / "workerlog.0").read_text() if (Path(logs) / "workerlog.0").exists() else ""
    lines = [line for line in log.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"allreduce benchmark failed (exit {proc.returncode}): {log.strip()[-300:]}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    result.pop("peak_rss_mb", None)
    return result


WORKERS = {"run": run_training, "allreduce": run_allreduce}

if __name__ == "__main__":
    main_guard(lambda kind, spec: WORKERS[kind](spec))
