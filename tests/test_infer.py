"""Tests for the exported-model loader and backends (`legacy_mnist.infer.load_model`, `model_files`).

Run:  python -m pytest -q tests/test_infer.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture

from legacy_mnist.exported import model_files
from legacy_mnist.errors import ModelError
from legacy_mnist.infer import load_model
from legacy_mnist.inference.backends import default_backend
from legacy_mnist.exported.model_files import ModelChoice, default_model_dir, find_model_files, resolve_model
from legacy_mnist.normalize import to_model_input

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def onnx_file(tiny_exports, tmp_path_factory):  # noqa: F811
    from legacy_mnist.export import convert_to_onnx

    path = tmp_path_factory.mktemp("onnx") / "cnn.onnx"
    convert_to_onnx(tiny_exports.legacy, path, tiny_exports.images[:64])
    return path


def test_legacy_export_loads_and_reproduces_training_predictions(tiny_exports):  # noqa: F811
    model = load_model(tiny_exports.legacy)
    assert model.files.format == "legacy" and model.backend == default_backend("legacy")
    probs = model.predict(to_model_input(tiny_exports.images))
    assert probs.shape == (len(tiny_exports.images), 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # The default backend's kernels (OpenVINO's, or the predictor's fused oneDNN ones) sum in another order
    # (measured max difference 1.5e-6); the Executor runs the training program's own kernels.
    np.testing.assert_allclose(probs, tiny_exports.reference, atol=1e-5)
    executor_probs = load_model(tiny_exports.legacy, "executor").predict(to_model_input(tiny_exports.images))
    np.testing.assert_allclose(executor_probs, tiny_exports.reference, atol=1e-6)
    assert tiny_exports.accuracy > 0.85  # the fixture model learned something, so parity below means something


def test_pir_json_export_gives_identical_predictions(tiny_exports):  # noqa: F811
    assert (tiny_exports.pir / "model.json").is_file() and not (tiny_exports.pir / "model.pdmodel").exists()
    legacy = load_model(tiny_exports.legacy, "executor").predict(to_model_input(tiny_exports.images))
    pir_model = load_model(tiny_exports.pir, "executor")
    assert pir_model.files.format == "pir"
    pir = pir_model.predict(to_model_input(tiny_exports.images))
    np.testing.assert_allclose(pir, legacy, atol=1e-6)
    assert np.array_equal(pir.argmax(1), legacy.argmax(1))


@pytest.mark.parametrize("export", ["legacy", "pir"])
def test_backends_agree(tiny_exports, onnx_file, export):  # noqa: F811
    directory = getattr(tiny_exports, export)
    batch = to_model_input(tiny_exports.images[:200])
    executor = load_model(directory, "executor").predict(batch)
    predictor = load_model(directory, "predictor").predict(batch)
    onnx = load_model(onnx_file, "onnx").predict(batch)
    for other in (predictor, onnx):
        assert float(np.abs(other - executor).max()) < 1e-4
        assert np.array_equal(other.argmax(1), executor.argmax(1))


def test_backend_chosen_from_file_and_batches_of_any_size(tiny_exports, onnx_file):  # noqa: F811
    model = load_model(onnx_file, backend=None)
    assert model.backend == default_backend("onnx") and model.files.format == "onnx"
    assert load_model(tiny_exports.legacy, backend=None).backend == default_backend("legacy")
    assert model.predict(np.zeros((0, 1, 28, 28), np.float32)).shape == (0, 10)
    one = model.predict(to_model_input(tiny_exports.images[:1]))
    assert one.shape == (1, 10)
    with pytest.raises(ValueError, match=r"\[N, 1, 28, 28\]"):
        model.predict(np.zeros((2, 784), np.float32))


def test_format_detection(tiny_exports, onnx_file, tmp_path):  # noqa: F811
    assert find_model_files(tiny_exports.legacy).format == "legacy"
    assert find_model_files(tiny_exports.legacy / "model.pdmodel").params.name == "model.pdiparams"
    assert find_model_files(tiny_exports.legacy / "model.pdiparams").format == "legacy"
    assert find_model_files(tiny_exports.pir).format == "pir"
    assert find_model_files(tiny_exports.pir / "model.json").format == "pir"
    assert find_model_files(onnx_file).format == "onnx"
    # A directory with both Paddle files and an .onnx: Paddle by default, ONNX when asked for.
    both = tmp_path / "both"
    shutil.copytree(tiny_exports.legacy, both)
    shutil.copy(onnx_file, both / "model.onnx")
    assert find_model_files(both).format == "legacy"
    assert find_model_files(both, "onnx").format == "onnx"
    # metrics.json next to an export is not mistaken for a PIR program.
    (both / "metrics.json").write_text("{}")
    assert find_model_files(both, "paddle").format == "legacy"


def _one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message, message
    return message


def test_model_errors_are_one_line(tiny_exports, tmp_path):  # noqa: F811
    with pytest.raises(ModelError) as excinfo:
        load_model(tmp_path / "missing")
    assert "no such model directory" in _one_line_error(excinfo)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError) as excinfo:
        load_model(empty)
    assert "no exported model here" in _one_line_error(excinfo)

    no_params = tmp_path / "no_params"
    no_params.mkdir()
    shutil.copy(tiny_exports.legacy / "model.pdmodel", no_params)
    with pytest.raises(ModelError) as excinfo:
        load_model(no_params)
    assert "model.pdiparams is missing" in _one_line_error(excinfo)

    for name, damage in {
        "truncated": lambda data: data[: len(data) // 2],
        "random": lambda data: np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes(),
        "zero": lambda data: b"",
    }.items():
        broken = tmp_path / f"params_{name}"
        shutil.copytree(tiny_exports.legacy, broken)
        params = broken / "model.pdiparams"
        params.write_bytes(damage(params.read_bytes()))
        for backend in ("executor", "predictor"):
            with pytest.raises(ModelError) as excinfo:
                load_model(broken, backend)
            assert str(broken) in _one_line_error(excinfo), (name, backend)

    mixed = tmp_path / "mixed"
    shutil.copytree(tiny_exports.legacy, mixed)
    shutil.copy(tiny_exports.other / "model.pdiparams", mixed / "model.pdiparams")  # softmax weights, CNN program
    for backend in ("executor", "predictor"):
        with pytest.raises(ModelError) as excinfo:
            load_model(mixed, backend)
        assert "holds 2 tensors but model.pdmodel needs 10" in _one_line_error(excinfo)

    wider = tmp_path / "wider"  # same layers, 32 first-layer filters: same tensor count, other shapes
    shutil.copytree(tiny_exports.legacy, wider)
    shutil.copy(tiny_exports.wide / "model.pdiparams", wider / "model.pdiparams")
    with pytest.raises(ModelError) as excinfo:
        load_model(wider)
    assert "is [32] but model.pdmodel needs [20]" in _one_line_error(excinfo)

    bad_program = tmp_path / "bad_program"
    shutil.copytree(tiny_exports.legacy, bad_program)
    (bad_program / "model.pdmodel").write_bytes(np.random.default_rng(1).bytes(4000))
    for backend in ("executor", "predictor"):  # the predictor alone would crash the process here
        with pytest.raises(ModelError) as excinfo:
            load_model(bad_program, backend)
        assert "not a Paddle program" in _one_line_error(excinfo)

    bad_json = tmp_path / "bad_json"
    shutil.copytree(tiny_exports.pir, bad_json)
    (bad_json / "model.json").write_text('{"program": [1, 2')
    for backend in ("executor", "predictor"):
        with pytest.raises(ModelError) as excinfo:
            load_model(bad_json, backend)
        assert str(bad_json / "model.json") in _one_line_error(excinfo)

    with pytest.raises(ModelError) as excinfo:
        load_model(tiny_exports.legacy, "onnx")
    assert "no .onnx file" in _one_line_error(excinfo)


def test_model_with_another_contract_is_refused(tiny_exports, tmp_path):  # noqa: F811
    from legacy_mnist.export import export_inference_model
    from legacy_mnist.paddle_env import import_paddle, ir_guard

    paddle = import_paddle()
    with ir_guard("legacy"):
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup):
            image = paddle.static.data("img", [None, 1, 28, 28], "float32")
            five = paddle.nn.functional.softmax(paddle.static.nn.fc(image, 5))
        exe = paddle.static.Executor(paddle.CPUPlace())
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            exe.run(startup)
            export_inference_model(tmp_path / "five", [image], [five], exe, main)
    with pytest.raises(ModelError) as excinfo:
        load_model(tmp_path / "five")
    assert "not an MNIST digit model" in _one_line_error(excinfo)


def test_model_lookup_order(tiny_exports, tmp_path, monkeypatch):  # noqa: F811
    """--model-dir > ./inference_model/<name>/ (the user's own export) > the shipped <name>."""
    shipped_root = tmp_path / "pkg" / "shipped_models"
    monkeypatch.setattr(model_files, "SHIPPED_MODELS_DIR", shipped_root)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as excinfo:
        resolve_model(None, "cnn")
    message = _one_line_error(excinfo)
    assert "no model 'cnn'" in message and "python -m legacy_mnist.train --model cnn" in message

    shipped = shutil.copytree(tiny_exports.legacy, shipped_root / "cnn")
    shutil.copytree(tiny_exports.legacy, shipped_root / "best")  # a second shipped name works the same way
    assert resolve_model() == ModelChoice(shipped, "cnn", "shipped")
    assert resolve_model(None, "best").path == shipped_root / "best"
    assert model_files.shipped_model_names() == ["best", "cnn"]

    user = tmp_path / "inference_model" / "cnn"
    user.mkdir(parents=True)  # an empty folder (say, left by `rm inference_model/cnn/*`) is passed over
    assert resolve_model().origin == "shipped"
    shutil.rmtree(user)
    shutil.copytree(tiny_exports.legacy, user)
    assert resolve_model() == ModelChoice(user, "cnn", "user") and default_model_dir() == user
    assert resolve_model(None, "best").origin == "shipped"  # per name
    assert resolve_model(tiny_exports.pir, "cnn") == ModelChoice(Path(tiny_exports.pir), None, "given")
    for bad in ("../cnn", "a/b", ".."):
        with pytest.raises(ModelError, match="use --model-dir for paths"):
            resolve_model(None, bad)
    model = load_model(name="best")
    assert model.choice.origin == "shipped"
    assert model.describe() == (f"model: {shipped_root / 'best' / 'model.pdmodel'} (format legacy, backend "
                                f"{default_backend('legacy')}; shipped with legacy_mnist as 'best')")


def test_the_shipped_cnn_is_package_data():
    shipped = REPO / "legacy_mnist" / "shipped_models" / "cnn"
    assert model_files.SHIPPED_MODELS_DIR == shipped.parent
    assert "cnn" in model_files.shipped_model_names()
    assert {"model.pdmodel", "model.pdiparams", "metrics.json", "SHA256SUMS"} <= {p.name for p in shipped.iterdir()}


def test_shipped_model_installs_as_package_data(tmp_path):
    """`pip install .` puts every shipped model inside the installed package, where the lookup finds it
    from any directory; `pip install -e .` finds the checkout's copy. (A throwaway venv over this Python's
    packages, built without isolation: nothing is fetched.)"""
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__",
                                                                 "models", "inference_model", ".venv*", "tests",
                                                                 "docs", ".pytest_cache"))
    venv = tmp_path / "venv"
    # Without its own pip/setuptools (Python 3.11's bundled setuptools 65 cannot build a wheel): this Python's
    # pip installs into it (`pip --python`) and this Python's setuptools builds.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    probe = ("import legacy_mnist.exported.model_files as m; c = m.resolve_model(); "
             "import legacy_mnist; print(c.path, c.origin, legacy_mnist.__file__, sep='\\n')")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for mode in ("regular", "editable"):
        target = ["-e", str(source)] if mode == "editable" else [str(source)]
        install = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
                                  "--no-build-isolation", *target], cwd=tmp_path, capture_output=True, text=True,
                                 env=env)
        assert install.returncode == 0, install.stderr[-2000:]
        found = subprocess.run([python, "-c", probe], cwd=elsewhere, capture_output=True, text=True, env=env)
        assert found.returncode == 0, found.stderr[-2000:]
        model_dir, origin, module = found.stdout.split("\n")[:3]
        package = Path(module).parent
        assert origin == "shipped" and Path(model_dir) == package / "shipped_models" / "cnn", found.stdout
        assert (str(source) in module) == (mode == "editable"), module  # the install under test was used
        assert (Path(model_dir) / "model.pdmodel").is_file() and (Path(model_dir) / "model.pdiparams").is_file()
        assert (Path(model_dir) / "SHA256SUMS").is_file() and (Path(model_dir) / "metrics.json").is_file()


