"""Differential tests against the real fluid: the same training script under Paddle 1.8.5 and through
legacy_mnist.fluid, from the same initial parameters, on the same batches, step by step.

Run:  LEGACY_MNIST_PADDLE18_PYTHON=/tmp/legacy_mnist_p18/bin/python python -m pytest -q tests/test_fluid_diff18.py
(skipped without it, failed under CI=true). The script: tests/fluid_scripts/diff_train.py - the book's three
networks (static, Adam) and the course's dygraph network (Linear/Conv2D/Pool2D/BatchNorm; SGD and Adam with
parameter_list). 1.8.5 runs first and saves its initial parameters (save_params / save_dygraph); our side
loads them. 50 steps of 64 real MNIST images; the costs must agree to 1e-3 relative at every step.

Where they cannot (measured; the test asserts the bounds): the networks trained with Adam drift apart after
some 10-25 steps. The evidence says the Adam kernel changed upstream, not our layers: the course's network under
SGD agrees bit for bit for all 50 steps (forward, backward and update kernels identical), and under Adam it
does not. Paddle 2.x rewrote the Adam kernel (as we read its CPU functor, epsilon is scaled by
sqrt(1 - beta2^t) there and was not in 1.8 - not verified line by line; the SGD/Adam contrast is what was
measured); on weights whose gradients are near zero that changes the step, and the two runs then drift like two seeds
(to ~1e-3 - 9e-3 relative by step 40, varying run to run). The static cnn starts drifting sooner: its first
step agrees exactly, its second to ~1e-5 (its conv2d/batch_norm gradients already differ in the last bits -
the static kernels sum in another order), which Adam then magnifies; the mlp drifts the same way in some
runs (1.2e-3 by step 40 in one of four). Held: the Adam networks with hidden layers (mlp, cnn, the course
under Adam) to 1e-3 for 10 steps and 2e-2 for all 50 (measured in six runs: 6e-6 - 7e-4 and 8e-4 - 8.7e-3); the
softmax regression under Adam and the course under SGD to 1e-3 for all 50 (measured 2e-6 and 0).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "fluid_scripts" / "diff_train.py"
STEPS, BATCH = 50, 64
KINDS = ["softmax", "mlp", "cnn", "dygraph_sgd", "dygraph_adam"]
# (steps held to 1e-3, tolerance over all STEPS); see the module docstring for cnn's reason
BOUNDS = {kind: (10, 2e-2) for kind in ("mlp", "cnn", "dygraph_adam")}
BOUNDS_REASON = "Adam kernel changed upstream (epsilon scaled by sqrt(1 - beta2^t)); see the docstring"


def _paddle18() -> str:
    python = os.environ.get("LEGACY_MNIST_PADDLE18_PYTHON", "")
    if not python:
        message = "LEGACY_MNIST_PADDLE18_PYTHON is not set: the differential tests need the real Paddle 1.8.5"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return python


@pytest.fixture(scope="module")
def batches(tmp_path_factory, mnist_cache):
    from legacy_mnist.dataset import load_split
    from legacy_mnist.normalize import to_model_input

    split = load_split("train", log=lambda message: None)
    path = tmp_path_factory.mktemp("diff") / "batches.npz"
    count = STEPS * BATCH
    np.savez(path, images=to_model_input(split.images[:count]).astype("float32"),
             labels=split.labels[:count].reshape(-1, 1).astype("int64"))
    return path


def _run(python, side, kind, data, out, init=None, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLAGS_enable_pir_api")}
    env.update(GLOG_minloglevel="3", **(env_extra or {}))
    args = [python, "-W", "ignore", str(SCRIPT), side, kind, str(data), str(out)] + (["--init", str(init)] if init else [])
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, (side, done.stderr[-3000:])
    return np.load(out / "costs.npy")


@pytest.mark.parametrize("kind", KINDS)
def test_per_step_costs_agree_with_paddle_18(batches, tmp_path, kind):
    real_out, ours_out = tmp_path / "real", tmp_path / "ours"
    real_out.mkdir()
    ours_out.mkdir()
    real = _run(_paddle18(), "real", kind, batches, real_out)
    ours = _run(sys.executable, "shim", kind, batches, ours_out, init=real_out / "init",
                env_extra={"PYTHONPATH": str(REPO)})
    assert len(real) == len(ours) == STEPS
    assert real[-1] < real[0] * 0.5  # both trained: a comparison of two stuck runs would prove nothing
    relative = np.abs(ours - real) / np.abs(real)
    held, overall = BOUNDS.get(kind, (STEPS, 1e-3))
    if kind == "dygraph_sgd":  # same network, same kernels: SGD agrees to the last bits - the drift is Adam's
        assert relative.max() <= 1e-5, relative
    print(f"{kind}: max relative cost difference {relative[:held].max():.2e} over {held} steps, "
          f"{relative.max():.2e} over {STEPS}")
    assert relative[:held].max() <= 1e-3, (kind, relative)
    assert relative.max() <= overall, (kind, BOUNDS_REASON if kind in BOUNDS else "", relative)
