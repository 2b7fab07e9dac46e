"""Data-parallel pieces that need no second process: python -m pytest -q tests/test_distributed.py

The ranks themselves run in tests/test_distributed_launch.py.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from legacy_mnist.training import collective_ops, distributed, launch_watch, launcher
from legacy_mnist.config import TrainConfig, parse_args
from legacy_mnist.errors import UserError
from legacy_mnist.training.launcher import JobFailed, RankOutcome, judge
from legacy_mnist.paddle_env import import_paddle
from legacy_mnist.training.program import build_programs
from legacy_mnist.train import main as train_main


@pytest.mark.parametrize("size,world", [(64, 2), (35, 2), (7, 3), (1, 2), (2, 4), (64, 8)])
def test_batch_shares_cover_the_batch_once_and_weigh_it_exactly(size, world):
    shares = [distributed.batch_share(size, rank, world) for rank in range(world)]
    real = [(part, weight) for part, weight in shares if weight > 0]
    covered = [i for part, _ in real for i in range(size)[part]]
    assert covered == list(range(size))  # contiguous, in order, every sample once
    assert sum(weight for _, weight in shares) == pytest.approx(1.0)
    counts = [part.stop - part.start for part, _ in real]
    assert max(counts) - min(counts) <= 1
    for part, weight in shares:
        if weight == 0:  # a rank without a sample still runs the step, on one stand-in sample that counts 0
            assert (part.start, part.stop) == (0, 1) and size < world


def test_evaluation_shares_partition_the_split():
    for count in (0, 1, 5000, 10001):
        parts = [distributed.split_share(count, rank, 3) for rank in range(3)]
        assert [i for part in parts for i in range(count)[part]] == list(range(count))


def test_cluster_comes_from_launch_environment():
    assert distributed.Cluster.from_env({}) == distributed.Cluster()
    assert not distributed.Cluster.from_env({}).launched
    env = {"PADDLE_TRAINERS_NUM": "4", "PADDLE_TRAINER_ID": "3", "PADDLE_LOCAL_SIZE": "2",
           "PADDLE_LOCAL_RANK": "1", "PADDLE_LOG_DIR": "/tmp/x"}
    cluster = distributed.Cluster.from_env(env)
    assert (cluster.rank, cluster.world, cluster.local_size, cluster.log_dir) == (3, 4, 2, "/tmp/x")
    assert cluster.launched and cluster.threads_per_rank(2) == 1 and cluster.threads_per_rank(16) == 8
    with pytest.raises(UserError, match="PADDLE_TRAINER_ID 4"):
        distributed.Cluster.from_env(dict(env, PADDLE_TRAINER_ID="4"))


def _ops(program):
    return list(program.global_block().ops)


@pytest.mark.parametrize("model", ["cnn", "lenet5"])
def test_gradients_are_weighted_and_summed_between_backward_and_optimizer(model):
    paddle = import_paddle()
    programs = build_programs(TrainConfig(model=model, weight_decay=1e-4))  # L2 ops run after the sum
    stats, sync = collective_ops.add_data_parallel_ops(paddle, programs)
    ops = _ops(programs.main)
    first_update = collective_ops.first_optimizer_op(programs.main.global_block())
    reduce_at = [i for i, op in enumerate(ops) if op.type == "all_reduce"]
    assert len(reduce_at) == 1 and reduce_at[0] < first_update  # one collective a step, before any update
    (at,) = reduce_at
    scale = ops[at - 2]  # the rank's share weighs everything but the stop request
    assert scale.type == "scale" and scale.input("ScaleTensor") == [collective_ops.SHARE_FEED]
    assert ops[at - 1].type == "concat" and ops[at - 1].input("X")[1] == collective_ops.STOP_FEED
    grads = collective_ops.gradient_names(programs.main)
    assert len(grads) == len([p for p in programs.main.global_block().all_parameters() if p.trainable])
    statistics = collective_ops.batch_norm_statistics(programs.main)
    assert len(statistics) == (2 if model == "cnn" else 0)  # batch norm's running mean and variance
    for name in grads + statistics:
        read = [i for i, op in enumerate(ops) if op.type == "reshape2" and op.input("X") == [name]]
        written = [i for i, op in enumerate(ops) if op.type == "reshape2" and op.output("Out") == [name]]
        backward = [i for i, op in enumerate(ops[:at]) if name in op.output_arg_names and op.type != "reshape2"]
        assert read and written and read[0] < at < written[0] < first_update, name
        assert not backward or max(backward) < read[0]  # taken after the last backward write
    assert stats.name in {name for op in ops[at:first_update] for name in op.output_arg_names}
    persistables = {v.name for v in programs.main.list_vars() if v.persistable and v.name not in ("feed", "fetch")}
    broadcast = {op.input("x")[0] for op in _ops(sync) if op.type == "broadcast" and op.attr("root") == 0}
    assert broadcast == persistables
    # The book's test program (what the export is pruned from) and the evaluation copy stay single-process.
    for program in (programs.test, programs.evaluation):
        assert not {op.type for op in _ops(program)} & {"all_reduce", "broadcast", "c_allreduce_sum"}


def _outcome(rank, code, error=None, digest=None, launch_code=None):
    return RankOutcome(rank, code, error, digest, launch_code)


def test_judge_names_the_rank_that_caused_the_failure(tmp_path):
    lost = f"{distributed.PEER_LOST} (rank 0 of 2: Connection reset by peer)"
    with pytest.raises(JobFailed, match=r"^rank 1 of 2 died \(killed by SIGKILL\) without reporting an error; "
                                        r"rank 0 then stopped") as died:
        judge([_outcome(0, 1, lost), _outcome(1, None, launch_code=-9)], 1, tmp_path)
    assert died.value.exit_code == 1 and "\n" not in str(died.value)
    # A rank's own error beats the others' consequences (a rank killed by launch's cleanup, lost peers).
    with pytest.raises(JobFailed, match=r"^rank 1 of 3: --data-dir /x: no MNIST files") as own:
        judge([_outcome(0, None), _outcome(1, 2, "--data-dir /x: no MNIST files"), _outcome(2, 1, lost)], 1,
              tmp_path)
    assert own.value.exit_code == 2
    with pytest.raises(JobFailed, match="^rank 0 of 2: interrupted by SIGTERM") as stopped:
        judge([_outcome(0, 143, "interrupted by SIGTERM at pass 0, batch 3; checkpoint saved"),
               _outcome(1, 143, "interrupted by a signal to another rank")], 15, tmp_path, signal_code=130)
    assert stopped.value.exit_code == 130  # the signal this command got (Ctrl-C), as one process reports it


def test_judge_refuses_ranks_that_finished_with_different_weights(tmp_path):
    assert judge([_outcome(0, 0, digest="ab"), _outcome(1, 0, digest="ab")], 0, tmp_path) == 0
    with pytest.raises(JobFailed, match="different weights"):
        judge([_outcome(0, 0, digest="ab"), _outcome(1, 0, digest="cd")], 0, tmp_path)


def test_read_outcomes_takes_reports_error_lines_and_launch_codes(tmp_path):
    (tmp_path / "rank.0.exit.json").write_text('{"rank": 0, "exit_code": 1, "weights_sha256": null}')
    (tmp_path / "workerlog.0").write_text("MNIST train: ...\nerror: first\nwarning\nerror: last one\n")
    (tmp_path / "workerlog.1").write_text("Pass 0, Batch 0, Cost 2.3\n")
    (tmp_path / "launch.log").write_text("LAUNCH ERROR x Container failed !!!\nContainer rank 1 status failed "
                                         "cmd ['python', '-u', 'dist_train.py'] code -9 log workerlog.1\n")
    first, second = launcher.read_outcomes(tmp_path, 2)
    assert (first.exit_code, first.error, first.launch_code) == (1, "last one", None)
    assert (second.exit_code, second.error, second.launch_code) == (None, None, -9)
    # What launch really logs when rank 1 is killed: rank 0, which failed at once on the lost connection
    # (launch names only the first failed rank); launch_watch's record has every rank's status.
    (tmp_path / "launch.log").write_text("LAUNCH ERROR x Container failed !!!\nContainer rank 0 status failed "
                                         "cmd ['python', '-u', 'dist_train.py'] code 1 log workerlog.0\n")
    assert [o.launch_code for o in launcher.read_outcomes(tmp_path, 2)] == [1, None]
    (tmp_path / launch_watch.RECORD_NAME).write_text('{"0": 1, "1": -9}\n')
    assert [o.launch_code for o in launcher.read_outcomes(tmp_path, 2)] == [1, -9]


def test_launch_watch_records_every_rank_of_the_last_controller(tmp_path):
    class Container:
        def __init__(self, rank, code):
            self.env, self.exit_code = {"PADDLE_TRAINER_ID": str(rank)}, code

    class Controller:
        def __init__(self, *codes):
            self.pod = type("Pod", (), {"containers": [Container(r, c) for r, c in enumerate(codes)]})()

    record = tmp_path / launch_watch.RECORD_NAME
    launch_watch.record_exit_codes([Controller(0, 0), Controller(1, -9)], record)
    assert json.loads(record.read_text()) == {"0": 1, "1": -9}
    launch_watch.record_exit_codes([object()], tmp_path / "other.json")  # another Paddle's internals: no file
    assert not (tmp_path / "other.json").exists()


def test_rank0_stderr_is_streamed_without_its_error_lines(tmp_path):
    log = tmp_path / "workerlog.0"
    out = io.BytesIO()
    tail = launcher._Tail(log, out, hold_errors=True)
    tail.pump()  # no file yet
    log.write_bytes(b"MNIST train: 60000\nerror: lost the connection\npartial")
    tail.pump()
    assert out.getvalue() == b"MNIST train: 60000\n"
    with open(log, "ab") as handle:
        handle.write(b" line\n")
    tail.pump(final=True)
    assert out.getvalue() == b"MNIST train: 60000\npartial line\n"


def test_nproc_is_checked_before_anything_starts(tmp_path):
    with pytest.raises(UserError, match="--nproc must be a positive integer"):
        parse_args(["--nproc", "0"])
    with pytest.raises(UserError, match="--ir pir: data-parallel training needs the legacy IR"):
        train_main(["--nproc", "2", "--ir", "pir", "--checkpoint-dir", str(tmp_path / "ck")])
    assert not (tmp_path / "ck").exists()
    assert launcher.launch_command(2, "cpu", Path("L"), ["--epochs", "1"])[3:] == [
        "--nproc_per_node", "2", "--log_dir", "L", str(launcher.WORKER_SCRIPT), "--epochs", "1"]
    assert launcher.launch_command(3, "gpu", Path("L"), [])[3:5] == ["--gpus", "0,1,2"]
