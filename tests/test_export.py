"""Tests for `python -m legacy_mnist.export --model-dir DIR --onnx OUT.onnx` (paddle2onnx + ONNX Runtime check).

Run:  python -m pytest -q tests/test_export.py
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture

from legacy_mnist.errors import ModelError, run_cli
from legacy_mnist.export import convert_to_onnx, main
from legacy_mnist.infer import load_model
from legacy_mnist.normalize import to_model_input

REPORT = re.compile(
    r"^wrote (?P<path>\S+) \(opset 11, \d+ KiB\); ONNX Runtime vs Paddle on (?P<n>\d+) MNIST test images: "
    r"max abs difference (?P<diff>\S+), same digit on (?P<same>\d+)/(?P=n)$"
)


@pytest.mark.parametrize("export", ["legacy", "pir"])
def test_cli_converts_and_checks_on_real_test_images(tiny_exports, tmp_path, capsys, export):  # noqa: F811
    out = tmp_path / "nested" / "cnn.onnx"
    code = run_cli(main, ["--model-dir", str(getattr(tiny_exports, export)), "--onnx", str(out), "--check-images", "200"])
    stdout, stderr = capsys.readouterr()
    assert code == 0 and stderr == "", stderr
    match = REPORT.match(stdout.strip())
    assert match, stdout
    assert match["path"] == str(out) and int(match["n"]) == 200 and int(match["same"]) == 200
    assert float(match["diff"]) < 1e-4
    assert [p.name for p in out.parent.iterdir()] == ["cnn.onnx"]  # no temp files left behind
    onnx = load_model(out, "onnx").predict(to_model_input(tiny_exports.images))
    assert onnx.shape == tiny_exports.reference.shape
    assert np.abs(onnx - tiny_exports.reference).max() < 1e-4


def test_failed_check_writes_nothing(tiny_exports, tmp_path):  # noqa: F811
    out = tmp_path / "cnn.onnx"
    out.write_bytes(b"previous version")
    with pytest.raises(ModelError, match="not written"):
        convert_to_onnx(tiny_exports.legacy, out, tiny_exports.images[:16], tolerance=-1.0)
    assert out.read_bytes() == b"previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.onnx"]


def test_cli_errors(tiny_exports, tmp_path, capsys):  # noqa: F811
    code = run_cli(main, ["--model-dir", str(tmp_path / "missing"), "--onnx", str(tmp_path / "x.onnx")])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "no such model directory" in err
    only_onnx = tmp_path / "only_onnx"
    only_onnx.mkdir()
    (only_onnx / "model.onnx").write_bytes(b"onnx")
    code = run_cli(main, ["--model-dir", str(only_onnx), "--onnx", str(tmp_path / "x.onnx")])
    _, err = capsys.readouterr()
    assert code == 2 and "only an ONNX model here" in err
    with pytest.raises(SystemExit) as excinfo:
        main(["--model-dir", str(tiny_exports.legacy)])  # --onnx is required
    assert excinfo.value.code == 2
    assert not (tmp_path / "x.onnx").exists()


def test_legacy_export_names_no_local_paths(tiny_exports):  # noqa: F811
    program = (tiny_exports.legacy / "model.pdmodel").read_bytes()
    # save_inference_model puts a Python traceback on the feed/fetch ops it adds; the export drops it.
    assert b"File \"" not in program and b"legacy_mnist/" not in program
    assert b"op_callstack" in program  # the attribute itself stays, empty, for every loader
    assert load_model(tiny_exports.legacy, "executor").predict(to_model_input(tiny_exports.images[:4])).shape == (4, 10)
