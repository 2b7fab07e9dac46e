"""Two real ranks under paddle.distributed.launch on small subsets: python -m pytest -q tests/test_distributed_launch.py

About a minute and a half on 2 cores: each job pays for three Paddle imports (launch's and each rank's).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from legacy_mnist.training.checkpoint import read_meta
from legacy_mnist.config import TrainConfig
from legacy_mnist.dataset import load_split
from legacy_mnist.common.pickles import NumpyOnlyUnpickler
from legacy_mnist.training.rank_exit import EXIT_REPORT
from legacy_mnist.training.launcher import LOG_DIR_NAME, WORKER_SCRIPT
from legacy_mnist.train import train

REPO = Path(__file__).resolve().parents[1]
# lenet5 has no batch norm. 1251 images = 19 full batches and one of 35, split 18/17: the weighting of
# uneven shares is exercised every pass. Momentum (with the v2 tutorial's L2 decay) rather than Adam: Adam's
# first steps are lr * sign(gradient), which turns float noise in near-zero gradients into lr-sized steps
# (docs/scaling.md: one process at 1 vs 2 threads already differs by 9e-6 after 20 Adam steps).
RECIPE = dict(model="lenet5", optimizer="momentum", learning_rate=0.05, train_limit=1251, val_size=256,
              test_limit=500, epochs=2, log_every=1)
COMMUNICATION_OPS = {"all_reduce", "broadcast", "c_allreduce_sum", "c_broadcast", "c_sync_comm_stream"}


def cli_args(recipe: dict, out: Path) -> list[str]:
    args = [f"--{key.replace('_', '-') if key != 'learning_rate' else 'lr'}={value}" for key, value in recipe.items()]
    return args + [f"--checkpoint-dir={out / 'ck'}", f"--save-dir={out / 'export'}"]


def environment(marker: str | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if marker:
        env["LEGACY_MNIST_TEST_JOB"] = marker  # the launched ranks inherit it: how a test finds their pids
    return env


def run_train(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "legacy_mnist.train", *args], capture_output=True, text=True,
                          cwd=REPO, env=environment(), timeout=timeout)


def load_state(checkpoint: Path) -> dict:
    state = {}
    for suffix in (".pdparams", ".pdopt"):
        with open(checkpoint / f"model{suffix}", "rb") as handle:
            state.update(NumpyOnlyUnpickler(handle, encoding="latin1").load())
    return {name: np.asarray(value) for name, value in state.items() if hasattr(value, "shape")}


def reports(log_dir: Path, world: int = 2) -> list[dict]:
    return [json.loads((log_dir / EXIT_REPORT.format(rank=rank)).read_text()) for rank in range(world)]


def max_difference(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    return max(float(np.abs(a[name].astype("float64") - b[name]).max()) for name in a)


@pytest.fixture(scope="module")
def one_process(mnist_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    cfg = TrainConfig(checkpoint_dir=str(out / "ck"), save_dir=str(out / "export"), plot=False,
                      **dict(RECIPE, log_every=1000))
    return train(cfg, log=lambda message: None), out


@pytest.fixture(scope="module")
def two_ranks(mnist_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    proc = run_train("--nproc", "2", "--log-format", "json", *cli_args(RECIPE, out))
    return proc, out


def test_two_ranks_train_the_one_process_model(one_process, two_ranks):
    (single, single_dir), (proc, out) = one_process, two_ranks
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]  # stdout is rank 0's JSON log, only
    assert [r["event"] for r in records].count("epoch") == 2 and records[-1]["event"] == "final"
    assert records[-1]["world_size"] == 2
    assert sum(r["event"] == "step" for r in records) == 40  # the global batch: 20 steps a pass, as one process
    assert "error" not in proc.stderr and "Traceback" not in proc.stderr
    first, second = reports(out / "ck" / LOG_DIR_NAME)
    assert first["exit_code"] == second["exit_code"] == 0
    assert first["weights_sha256"] == second["weights_sha256"]  # bit-identical ranks
    # Each rank training alone on its half would be far off here (and fail the job's own check).
    assert max_difference(load_state(out / "ck" / "last"), load_state(single_dir / "ck" / "last")) < 1e-5
    metrics = json.loads((out / "export" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["test_images"] == 500  # the whole (limited) test set
    assert abs(metrics["test_acc"] - single.test_acc) <= 2 / 500
    assert abs(records[-1]["test_acc"] - metrics["test_acc"]) < 1e-6


def test_export_is_the_single_process_one_and_loads_for_inference(one_process, two_ranks):
    from legacy_mnist.infer import load_model
    from legacy_mnist.paddle_env import import_paddle

    (single, single_dir), (proc, out) = one_process, two_ranks
    assert proc.returncode == 0, proc.stderr
    paddle = import_paddle()

    def op_types(export: Path) -> list[str]:
        program = paddle.static.Program.parse_from_string((export / "model.pdmodel").read_bytes())
        return [op.type for op in program.global_block().ops]

    types = op_types(out / "export")
    assert not set(types) & COMMUNICATION_OPS
    assert types == op_types(single_dir / "export")
    test = load_split("test", log=lambda message: None)
    model = load_model(out / "export")
    from legacy_mnist.normalize import to_model_input

    digits = np.argmax(model.predict(to_model_input(test.images[:500])), axis=1)
    metrics = json.loads((out / "export" / "metrics.json").read_text())
    assert np.mean(digits == test.labels[:500]) == pytest.approx(metrics["test_acc"], abs=1e-6)


def test_batch_norm_ranks_stay_identical_under_a_direct_launch(mnist_cache, tmp_path):
    """The user's own `python -m paddle.distributed.launch ... legacy_mnist/dist_train.py` (no --nproc)."""
    log_dir = tmp_path / "logs"
    recipe = dict(RECIPE, model="cnn", optimizer="adam", learning_rate=1e-3, epochs=1, log_every=1000)
    proc = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                           "--log_dir", str(log_dir), str(WORKER_SCRIPT), *cli_args(recipe, tmp_path), "--no-plot"],
                          capture_output=True, text=True, cwd=REPO, env=environment(), timeout=180)
    assert proc.returncode == 0, (log_dir / "workerlog.0").read_text()[-2000:]
    first, second = reports(log_dir)
    assert first["weights_sha256"] == second["weights_sha256"]  # running mean/variance included
    state = load_state(tmp_path / "ck" / "last")
    mean = next(value for name, value in state.items() if name.startswith("batch_norm") and name.endswith("w_1"))
    assert np.abs(mean).max() > 0  # the running statistics moved (they start at 0)
    assert json.loads((tmp_path / "export" / "metrics.json").read_text())["world_size"] == 2


def _rank_pid(marker: str, rank: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"LEGACY_MNIST_TEST_JOB={marker}".encode() in env and f"PADDLE_TRAINER_ID={rank}".encode() in env:
            return int(entry.name)
    return None


def test_killed_rank_ends_the_job_with_one_line_and_resume_continues(two_ranks, tmp_path):
    proc2, uninterrupted = two_ranks
    assert proc2.returncode == 0, proc2.stderr
    marker = uuid.uuid4().hex
    job = subprocess.Popen([sys.executable, "-m", "legacy_mnist.train", "--nproc", "2", *cli_args(RECIPE, tmp_path)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                           env=environment(marker))
    try:
        for line in job.stdout:  # rank 0's log, live: kill rank 1 a few steps into the second pass
            if line.startswith("Pass 1, Batch 3,"):
                os.kill(_rank_pid(marker, 1), signal.SIGKILL)
                break
        out, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors == err.strip().splitlines()[-1:], err
    assert errors[0].startswith("error: rank 1 of 2 died (killed by SIGKILL) without reporting an error"), err
    assert "Traceback" not in err
    meta = read_meta(tmp_path / "ck", "last")  # complete, from the end of pass 0
    assert (meta["epoch"], meta["batch"]) == (1, 0)

    resumed = run_train("--nproc", "2", "--resume", *cli_args(RECIPE, tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from" in resumed.stderr and "Pass 1, Batch 0," in resumed.stdout
    assert "Pass 0," not in resumed.stdout
    assert reports(tmp_path / "ck" / LOG_DIR_NAME)[0]["weights_sha256"] == \
        reports(uninterrupted / "ck" / LOG_DIR_NAME)[0]["weights_sha256"]  # the same model, bit for bit


def test_ranks_training_alone_fail_instead_of_exiting_0(mnist_cache, tmp_path):
    """The trap Fleet's static mode falls into on CPU: no gradient all_reduce, every rank trains alone."""
    log_dir = tmp_path / "logs"
    recipe = dict(RECIPE, epochs=1, train_limit=256, log_every=1000)
    proc = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                           "--log_dir", str(log_dir), str(REPO / "tests" / "dist_alone_worker.py"),
                           *cli_args(recipe, tmp_path), "--no-plot"],
                          capture_output=True, text=True, cwd=REPO, env=environment(), timeout=180)
    assert proc.returncode != 0
    log = (log_dir / "workerlog.0").read_text()
    assert "error: the ranks' weights differ after pass 0: the ranks are training alone" in log, log[-2000:]
    assert not (tmp_path / "export").exists()
