"""The book-style fluid script (tests/fluid_scripts/recognize_digits.py) runs on Paddle 3.3.1 through the shim.

Run:  python -m pytest -q tests/test_fluid_script.py
The CNN runs as the book's users run it - a separate `python script.py` process, `import paddle` first -
on the first 12,800 training images for one pass; the MLP and softmax variants train in-process on the
book's `--enable_ce` path (fixed seeds, no shuffling).
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "fluid_scripts" / "recognize_digits.py"
TEST_IMAGES = 1000


def _first_test_image_of(digit: int) -> np.ndarray:
    from legacy_mnist.dataset import load_split

    split = load_split("test", log=lambda message: None)
    return split.images[int(np.flatnonzero(split.labels == digit)[0])]


@pytest.fixture(scope="module")
def cnn_run(mnist_cache, tmp_path_factory):
    """Run the script as a user would; returns (completed process, its working directory, image path)."""
    from PIL import Image

    workdir = tmp_path_factory.mktemp("fluid_cnn")
    image_path = workdir / "infer_3.png"
    Image.fromarray(_first_test_image_of(3)).save(image_path)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        FLUID_NN_TYPE="convolutional_neural_network",
        FLUID_TRAIN_LIMIT="12800",  # 200 Adam steps: enough for > 90% (3,000 images reach about 86%)
        FLUID_TEST_LIMIT=str(TEST_IMAGES),
        FLUID_SEED="1",
    )
    env.pop("LEGACY_MNIST_VERBOSE", None)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--num_epochs", "1", "--infer_image", str(image_path)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, workdir, image_path


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text}"
    return float(match.group(1))


@pytest.mark.filterwarnings("ignore::legacy_mnist.fluid.FluidDeprecationWarning")
def test_book_cnn_script_trains_exports_and_predicts(cnn_run):
    proc, workdir, image_path = cnn_run
    out = proc.stdout
    train_time_acc = _number(r"Test with Epoch 0, avg_cost: \S+, acc: (\S+)", out)
    loaded_acc = _number(rf"Inference accuracy of the loaded model on {TEST_IMAGES} test images: (\S+)", out)
    assert loaded_acc > 0.90, out
    # The exported model, loaded in a fresh scope, is the network the test program evaluated in training
    # (the book averages per-batch accuracies, hence the small tolerance).
    assert abs(loaded_acc - train_time_acc) < 0.01, out
    export = workdir / "recognize_digits_convolutional_neural_network.inference.model"
    assert sorted(p.name for p in export.iterdir()) == ["model.pdiparams", "model.pdmodel"]

    # The digit the script printed is what the exported files predict for that image here.
    import legacy_mnist.fluid as fluid
    from legacy_mnist.normalize import to_model_input

    printed = int(_number(r"Inference result of infer_3.png is: (\d+)", out))
    exe = fluid.Executor(fluid.CPUPlace())
    with fluid.scope_guard(fluid.core.Scope()):
        program, feeds, fetches = fluid.io.load_inference_model(str(export), exe)
        probs = exe.run(program, feed={feeds[0]: to_model_input(_first_test_image_of(3))}, fetch_list=fetches)[0]
    assert feeds == ["img"] and probs.shape == (1, 10)
    assert printed == int(probs.argmax())


def test_book_script_output_is_quiet_and_warns_once_per_name(cnn_run):
    proc, _, _ = cnn_run
    err = proc.stderr
    assert "New Executor" not in err and not re.search(r"^[IWE]\d{4} ", err, re.M), err  # no glog lines
    assert "VisibleDeprecationWarning" not in err, err  # Paddle's own notes on the calls the shim makes
    # simple_img_conv_pool is called twice, DataFeeder.feed and the layers many times: one warning each.
    for name in ("fluid.nets.simple_img_conv_pool", "fluid.layers.fc", "fluid.DataFeeder",
                 "fluid.io.save_inference_model", "fluid.io.load_inference_model"):
        assert err.count(f"FluidDeprecationWarning: {name}:") == 1, (name, err)
    assert "FluidDeprecationWarning: fluid.layers.batch_norm" not in err  # same API today: no warning


@pytest.fixture(scope="module")
def book_module(mnist_cache):
    spec = importlib.util.spec_from_file_location("fluid_book_recognize_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train_variant(book, nn_type, save_dir, monkeypatch):
    fluid = book.fluid
    monkeypatch.setenv("FLUID_TRAIN_LIMIT", "12800")
    monkeypatch.setenv("FLUID_TEST_LIMIT", str(TEST_IMAGES))
    # The book's train() uses the default programs: give it fresh ones, and a fresh scope.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fluid.FluidDeprecationWarning)
        with fluid.program_guard(fluid.Program(), fluid.Program()), fluid.unique_name.guard(), \
                fluid.scope_guard(fluid.core.Scope()):
            history = book.train(nn_type, use_cuda=False, num_epochs=1, enable_ce=True, save_dirname=str(save_dir))
        _, loaded_acc = book.infer(use_cuda=False, save_dirname=str(save_dir))
    return history, loaded_acc


def test_book_mlp_and_softmax_variants_learn(book_module, tmp_path, monkeypatch):
    results = {}
    for nn_type in ("softmax_regression", "multilayer_perceptron"):
        history, loaded_acc = _train_variant(book_module, nn_type, tmp_path / nn_type, monkeypatch)
        (epoch, test_cost, test_acc), = history
        assert epoch == 0 and np.isfinite(test_cost)
        assert abs(loaded_acc - test_acc) < 0.01
        results[nn_type] = loaded_acc
    # 200 steps of Adam(0.001): about 0.82 and 0.86; chance is 0.10.
    assert results["softmax_regression"] > 0.75, results
    assert results["multilayer_perceptron"] > 0.80, results
    assert results["multilayer_perceptron"] > results["softmax_regression"], results
