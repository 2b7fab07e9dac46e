"""The default export (legacy IR .pdmodel + .pdiparams) must load in Paddle 2.6.2 and 1.8.5 and predict as 3.x does.

Run:  LEGACY_MNIST_PADDLE2_PYTHON=/tmp/p2/bin/python LEGACY_MNIST_PADDLE18_PYTHON=/tmp/p18/bin/python \
      python -m pytest -q tests/test_export_paddle2.py
Needs separate virtualenvs with paddlepaddle==2.6.2 and (Python 3.8) paddlepaddle==1.8.5 (CI makes both; see
docs/deployment.md):
    python -m venv /tmp/p2 && /tmp/p2/bin/pip install paddlepaddle==2.6.2 numpy pillow
Without the variables the tests are skipped on a developer machine and FAIL under CI=true, so CI can never
pass without really checking Paddle 2.x and 1.8.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture

from legacy_mnist.infer import load_model
from legacy_mnist.normalize import to_model_input

ENV_VAR = "LEGACY_MNIST_PADDLE2_PYTHON"
ENV_VAR_18 = "LEGACY_MNIST_PADDLE18_PYTHON"
CHECK_SCRIPT = Path(__file__).with_name("paddle2_check.py")
SHIPPED = Path(__file__).resolve().parent.parent / "legacy_mnist" / "shipped_models"


def _old_python(variable: str, version: str) -> str:
    python = os.environ.get(variable, "")
    if not python:
        message = f"{variable} is not set: point it at a python with paddlepaddle=={version} (see this file's docstring)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    assert Path(python).is_file(), f"{variable}={python} does not exist"
    return python


@pytest.fixture(scope="module")
def paddle2_python() -> str:
    return _old_python(ENV_VAR, "2.6.2")


@pytest.fixture(scope="module")
def paddle18_python() -> str:
    return _old_python(ENV_VAR_18, "1.8.5")


def run_check(python: str, model_dir: Path, batch: np.ndarray, tmp_path: Path):
    inputs, outputs = tmp_path / "inputs.npy", tmp_path / "outputs.npy"
    np.save(inputs, batch)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLAGS_enable_pir_api")}
    done = subprocess.run([python, str(CHECK_SCRIPT), str(model_dir), str(inputs), str(outputs)],
                          capture_output=True, text=True, env=env, timeout=300)
    return done, (np.load(outputs) if done.returncode == 0 else None)


def test_legacy_export_predicts_the_same_in_paddle_2(paddle2_python, tiny_exports, tmp_path):  # noqa: F811
    batch = to_model_input(tiny_exports.images[:200])
    done, theirs = run_check(paddle2_python, tiny_exports.legacy, batch, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["paddle"].startswith("2.6") and info["feeds"] == ["img"] and info["shape"] == [200, 10]
    ours = load_model(tiny_exports.legacy).predict(batch)
    assert np.abs(theirs - ours).max() < 1e-5
    assert np.array_equal(theirs.argmax(1), ours.argmax(1))


def test_pir_export_is_refused_by_paddle_2_in_one_line(paddle2_python, tiny_exports, tmp_path):  # noqa: F811
    done, _ = run_check(paddle2_python, tiny_exports.pir, to_model_input(tiny_exports.images[:2]), tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "a PIR export" in done.stderr


@pytest.mark.parametrize("which", ["2.6", "1.8"])
def test_export_op_form_loads_in_old_paddles_with_the_same_probabilities(which, tiny_exports, tmp_path):  # noqa: F811
    """The one op form (fc as reshape2 + matmul, OpenVINO's Paddle frontend reads it): our own export and
    the shipped models load in the real Paddle 2.6.2 and 1.8.5 and predict what 3.3.1's Executor does."""
    python = _old_python(ENV_VAR if which == "2.6" else ENV_VAR_18, "2.6.2" if which == "2.6" else "1.8.5")
    batch = to_model_input(tiny_exports.images[:100])
    for model_dir in (tiny_exports.legacy, SHIPPED / "cnn", SHIPPED / "vgg"):
        done, theirs = run_check(python, model_dir, batch, tmp_path)
        assert done.returncode == 0, (model_dir, done.stderr[-3000:])
        info = json.loads(done.stdout.strip().splitlines()[-1])
        assert info["paddle"].startswith(which) and info["shape"] == [100, 10], info
        assert "matmul" in info["ops"] and "mul" not in info["ops"], (model_dir, info["ops"])
        ours = load_model(model_dir, "executor").predict(batch)
        assert np.abs(theirs - ours).max() < 1e-5, model_dir
        assert np.array_equal(theirs.argmax(1), ours.argmax(1)), model_dir
