"""Training pipeline tests on small subsets: python -m pytest -q tests/test_train.py"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from legacy_mnist.config import TrainConfig
from legacy_mnist.errors import UserError
from legacy_mnist.events import EndIteration, EndPass, EndTraining
from legacy_mnist.training.program import build_programs
from legacy_mnist.train import TrainingDiverged, train

SMALL = dict(train_limit=2000, test_limit=500, val_size=500, epochs=2, log_every=1000, plot=False)
REPO = Path(__file__).resolve().parents[1]


def small_cfg(tmp_path: Path, tag: str = "run", **changes) -> TrainConfig:
    return TrainConfig(checkpoint_dir=str(tmp_path / tag / "ck"), save_dir=str(tmp_path / tag / "export"),
                       **dict(SMALL, **changes))


def curve(result) -> list[tuple]:
    return [(r["train_cost"], r["val_acc"], r["test_acc"]) for r in result.history]


def run_cli(*args: str, timeout: float = 240, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "legacy_mnist.train", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=popen.pop("cwd", REPO), **popen)


@pytest.mark.parametrize("model,params", [("softmax", 7850), ("mlp", 199210), ("cnn", 33620), ("lenet5", 44426)])
def test_summary_matches_program_parameters(model, params):
    programs = build_programs(TrainConfig(model=model))
    trainable = [p for p in programs.main.global_block().all_parameters() if p.trainable]
    assert sum(row.params for row in programs.summary) == sum(int(np.prod(p.shape)) for p in trainable) == params


@pytest.mark.parametrize("ir", ["legacy", "pir"])
def test_test_program_is_cloned_before_minimize(ir):
    programs = build_programs(TrainConfig(model="cnn", ir=ir))
    op_names = lambda prog: [op.type if ir == "legacy" else op.name() for op in prog.global_block().ops]
    train_ops, test_ops = op_names(programs.main), op_names(programs.test)
    assert any("adam" in name for name in train_ops) and any("grad" in name for name in train_ops)
    assert not [name for name in test_ops if "adam" in name or "grad" in name]


@pytest.mark.parametrize("model", ["softmax", "mlp", "cnn", "lenet5"])
def test_each_model_trains_and_exports(mnist_cache, tmp_path, model):
    result = train(small_cfg(tmp_path, model=model))
    assert len(result.history) == 2
    assert result.test_acc > 0.6, result.history  # chance is 0.1; 2 short passes reach 0.7-0.9
    assert result.history[1]["train_cost"] < result.history[0]["train_cost"]
    files = {p.name for p in result.save_dir.iterdir()}
    assert {"model.pdmodel", "model.pdiparams", "metrics.json"} <= files
    metrics = json.loads((result.save_dir / "metrics.json").read_text())
    assert metrics["model"] == model and metrics["best_epoch"] == result.best_epoch
    assert metrics["test_acc"] == pytest.approx(result.history[result.best_epoch]["test_acc"])


def test_same_seed_same_metrics_and_other_seed_differs(mnist_cache, tmp_path):
    first = train(small_cfg(tmp_path, "a", model="lenet5"))
    second = train(small_cfg(tmp_path, "b", model="lenet5"))
    other = train(small_cfg(tmp_path, "c", model="lenet5", seed=7))
    assert curve(first) == curve(second)
    assert curve(first) != curve(other)


def test_resume_after_a_pass_matches_uninterrupted_run(mnist_cache, tmp_path):
    straight = train(small_cfg(tmp_path, "straight", lr_schedule="cosine"))
    cut = train(small_cfg(tmp_path, "resumed", max_steps=32, lr_schedule="cosine"))  # 2000 / 64 -> 32 a pass
    assert len(cut.history) == 1
    resumed = train(small_cfg(tmp_path, "resumed", resume=True, lr_schedule="cosine"))
    assert curve(resumed) == curve(straight)
    assert resumed.test_acc == straight.test_acc


def test_sigterm_mid_pass_checkpoints_and_resume_matches(mnist_cache, tmp_path):
    args = ["--train-limit", "6000", "--test-limit", "300", "--val-size", "300", "--epochs", "2", "--no-plot",
            "--log-format", "json", "--log-every", "1"]
    straight = run_cli(*args, "--checkpoint-dir", str(tmp_path / "a"), "--save-dir", str(tmp_path / "ea"))
    assert straight.returncode == 0, straight.stderr
    dirs = ["--checkpoint-dir", str(tmp_path / "b"), "--save-dir", str(tmp_path / "eb")]
    proc = subprocess.Popen([sys.executable, "-m", "legacy_mnist.train", *args, *dirs], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # wait until training is under way, then stop it mid-pass
        if '"global_step": 20,' in line:
            proc.send_signal(signal.SIGTERM)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--resume" in errors[0] and "Traceback" not in err
    meta = json.loads((tmp_path / "b" / "last" / "meta.json").read_text())
    assert meta["epoch"] == 0 and 20 <= meta["batch"] < 94
    resumed = run_cli(*args, *dirs, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    epochs = lambda out: [json.loads(l) for l in out.splitlines() if '"event": "epoch"' in l]
    drop = lambda records: [{k: v for k, v in r.items() if k not in ("seconds", "train_images_per_sec")}
                            for r in records]
    assert drop(epochs(resumed.stdout)) == drop(epochs(straight.stdout))


def test_event_handler_gets_v2_style_events(mnist_cache, tmp_path):
    events = []
    result = train(small_cfg(tmp_path, model="softmax", epochs=1, train_limit=640, batch_size=64), events.append)
    iterations = [e for e in events if isinstance(e, EndIteration)]
    passes = [e for e in events if isinstance(e, EndPass)]
    assert [e.batch_id for e in iterations] == list(range(10)) and {e.pass_id for e in iterations} == {0}
    assert all(np.isfinite(e.cost) and 0 <= e.metrics["acc"] <= 1 for e in iterations)
    assert len(passes) == 1 and passes[0].metrics["test_acc"] == result.history[0]["test_acc"]
    assert isinstance(events[-1], EndTraining) and events[-1].result is result


def test_legacy_reader_path_reaches_same_accuracy(mnist_cache, tmp_path):
    fast = train(small_cfg(tmp_path, "array", model="mlp"))
    legacy = train(small_cfg(tmp_path, "legacy", model="mlp", reader="legacy"))
    again = train(small_cfg(tmp_path, "legacy2", model="mlp", reader="legacy"))
    assert curve(legacy) == curve(again)  # repeatable for a seed
    assert abs(legacy.test_acc - fast.test_acc) < 0.04, (legacy.test_acc, fast.test_acc)


def test_pir_trains_and_exports_json(mnist_cache, tmp_path):
    result = train(small_cfg(tmp_path, model="cnn", ir="pir", epochs=1))
    assert result.test_acc > 0.6
    assert (result.save_dir / "model.json").is_file() and not (result.save_dir / "model.pdmodel").exists()


def test_divergence_stops_and_keeps_last_good_checkpoint(mnist_cache, tmp_path):
    cfg = small_cfg(tmp_path, model="mlp", epochs=1, optimizer="sgd")
    train(cfg)
    last = Path(cfg.checkpoint_dir) / "last"
    before = {p.name: p.read_bytes() for p in last.iterdir()}
    with pytest.raises(TrainingDiverged, match="last good checkpoint kept"):
        train(cfg.with_changes(learning_rate=1e38))
    assert {p.name: p.read_bytes() for p in last.iterdir()} == before


def test_resume_refuses_changed_training_settings(mnist_cache, tmp_path):
    cfg = small_cfg(tmp_path, model="softmax", epochs=1)
    train(cfg)
    with pytest.raises(UserError, match="--learning-rate"):
        train(cfg.with_changes(epochs=2, resume=True, learning_rate=0.5))


def test_checkpoint_dir_is_locked_against_a_second_training(mnist_cache, tmp_path):
    from legacy_mnist.training.checkpoint import CheckpointLock

    with CheckpointLock(tmp_path / "ck"):
        with pytest.raises(UserError, match="in use"):
            train(small_cfg(tmp_path).with_changes(checkpoint_dir=str(tmp_path / "ck")))


def test_cli_json_log_schema(mnist_cache, tmp_path):
    out = run_cli("--dry-run", "--model", "softmax", "--log-format", "json", "--checkpoint-dir",
                  str(tmp_path / "ck"), "--save-dir", str(tmp_path / "export"))
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = [r["event"] for r in records]
    assert kinds.count("final") == 1 and kinds[-1] == "final" and "epoch" in kinds and "step" in kinds
    step = next(r for r in records if r["event"] == "step")
    assert {"epoch", "step", "cost", "acc", "global_step"} <= set(step)
    epoch = next(r for r in records if r["event"] == "epoch")
    assert {"epoch", "train_cost", "train_acc", "val_acc", "test_acc", "train_images_per_sec"} <= set(epoch)
    final = records[-1]
    assert {"best_epoch", "test_acc", "save_dir"} <= set(final) and Path(final["save_dir"]).is_dir()
    assert "W0" not in out.stderr and "Warning" not in out.stderr  # no glog or deprecation noise


def test_cli_text_log_has_the_books_lines(mnist_cache, tmp_path):
    out = run_cli("--dry-run", "--checkpoint-dir", str(tmp_path / "ck"), "--save-dir", str(tmp_path / "e"))
    assert out.returncode == 0, out.stderr
    assert "Pass 0, Batch 0, Cost " in out.stdout
    assert "Test with Epoch 0, avg_cost: " in out.stdout
    assert "The classification accuracy is " in out.stdout


@pytest.mark.parametrize("args,message", [
    (["--device", "gpu"], "--device gpu"),
    (["--use_gpu", "True"], "--device gpu"),
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "-3"], "--batch-size"),
    (["--model", "resnet"], "--model"),
    (["--use_gpu", "maybe"], "--use_gpu"),
])
def test_cli_bad_arguments_exit_2_with_one_line(args, message, tmp_path):
    out = run_cli(*args, "--dry-run", "--checkpoint-dir", str(tmp_path / "ck"), "--save-dir", str(tmp_path / "e"),
                  timeout=60)
    assert out.returncode == 2, (out.returncode, out.stderr)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], out.stderr
    assert "Traceback" not in out.stderr


def test_use_gpu_false_means_cpu():
    from legacy_mnist.config import parse_args

    assert parse_args(["--use_gpu", "False"])[0].device == "cpu"  # the book's type=bool made this True
    assert parse_args(["--use_gpu", "1"])[0].device == "gpu"


def test_unwritable_checkpoint_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = run_cli("--dry-run", "--checkpoint-dir", str(blocker / "ck"), "--save-dir", str(tmp_path / "e"),
                  timeout=60)
    assert out.returncode == 2 and "--checkpoint-dir" in out.stderr, out.stderr


def test_cli_divergence_is_one_line_and_exit_1(mnist_cache, tmp_path):
    out = run_cli("--dry-run", "--model", "mlp", "--optimizer", "sgd", "--lr", "1e38", "--checkpoint-dir",
                  str(tmp_path / "ck"), "--save-dir", str(tmp_path / "e"))
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 1 and len(errors) == 1 and "diverged" in errors[0], out.stderr
    assert "no checkpoint had been written yet" in errors[0] and not (tmp_path / "e").exists()


def test_reported_accuracy_matches_a_fresh_load_of_the_export(mnist_cache, tmp_path):
    # Guards against stale state between evaluations (e.g. kernels caching the first pass's weights).
    from legacy_mnist.dataset import load_split
    from legacy_mnist.infer import load_model
    from legacy_mnist.normalize import to_model_input

    result = train(small_cfg(tmp_path, model="cnn"))
    assert result.best_epoch == 1  # so the exported pass was evaluated after an earlier evaluation
    test = load_split("test")
    images, labels = test.images[: SMALL["test_limit"]], test.labels[: SMALL["test_limit"]]
    probabilities = load_model(result.save_dir).predict(to_model_input(images))
    assert float(np.mean(probabilities.argmax(axis=1) == labels)) == pytest.approx(result.test_acc, abs=1e-6)


def initial_parameters(cfg: TrainConfig) -> dict[str, np.ndarray]:
    """Every trainable parameter after the startup program, by name."""
    from legacy_mnist.paddle_env import import_paddle, ir_guard

    paddle = import_paddle()
    programs = build_programs(cfg)
    scope = paddle.static.Scope()
    with ir_guard(cfg.ir), paddle.static.scope_guard(scope):
        paddle.static.Executor(paddle.CPUPlace()).run(programs.startup)
        names = [p.name for p in programs.main.global_block().all_parameters() if p.trainable]
        return {name: np.array(scope.find_var(name).get_tensor()) for name in names}


@pytest.mark.parametrize("ir", ["legacy", "pir"])
def test_fan_in_init_draws_weights_and_biases_like_pytorch(ir):
    params = initial_parameters(TrainConfig(model="lenet5", ir=ir, init="fan-in"))
    # lenet5's layers in order: conv 1*5*5, conv 6*5*5, fc 256, fc 120, fc 84 inputs.
    fan_ins = {(6, 1, 5, 5): 25, (16, 6, 5, 5): 150, (256, 120): 256, (120, 84): 120, (84, 10): 84}
    biases = {6: 25, 16: 150, 120: 256, 84: 120, 10: 84}
    assert len(params) == 10
    for name, value in params.items():
        fan_in = fan_ins[value.shape] if value.ndim > 1 else biases[value.shape[0]]
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(value).max() <= bound, name
        assert np.abs(value).max() > 0.8 * bound, name  # spread over the range, not zeros
        if value.size >= 1000:
            assert value.std() == pytest.approx(bound / np.sqrt(3), rel=0.1), name


def test_fluid_init_keeps_paddles_defaults():
    params = initial_parameters(TrainConfig(model="cnn", init="fluid"))
    conv2 = next(v for v in params.values() if v.shape == (50, 20, 5, 5))
    assert conv2.std() == pytest.approx(np.sqrt(2 / 500), rel=0.05)  # N(0, 2/fan_in)
    biases = [v for v in params.values() if v.ndim == 1 and v.shape[0] in (20, 50, 10)
              and not np.all(v == 1)]  # batch norm's scale starts at 1
    assert biases and all(np.all(v == 0) for v in biases)


def test_fast_kernels_stay_out_of_the_exported_test_program():
    programs = build_programs(TrainConfig(model="cnn"))

    def ops(program, kind):
        return [op for op in program.global_block().ops if op.type == kind]

    # Training and evaluation add conv biases in the axis=1 form with the bias parameter itself ...
    for program in (programs.main, programs.evaluation):
        adds = [op for op in ops(program, "elementwise_add") if op.input("Y")[0].startswith("conv2d_")]
        assert len(adds) == 2 and all(op.attr("axis") == 1 for op in adds)
        assert all(op.attr("use_mkldnn") and not op.attr("is_test") for op in ops(program, "conv2d"))
    # ... the test program (what the export is pruned from) keeps the book's ops and Paddle's kernels.
    assert len(ops(programs.test, "reshape2")) == 2
    assert not any(op.attr("use_mkldnn") for op in ops(programs.test, "conv2d"))
