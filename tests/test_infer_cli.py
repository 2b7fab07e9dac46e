"""Tests for `python -m legacy_mnist.infer`: inputs, per-file errors, exit codes, text/CSV/JSON output.

Run:  python -m pytest -q tests/test_infer_cli.py
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from PIL import Image

from legacy_mnist.errors import run_cli
from legacy_mnist.infer import iter_predictions, load_model, main, predict_files
from legacy_mnist.inference.backends import default_backend
from legacy_mnist.synthetic import make_photo_set, write_photo_set

REPO = Path(__file__).resolve().parent.parent
TEXT_LINE = re.compile(r"^Inference result of (?P<path>.+) is: (?P<digit>\d) \(probability (?P<p>[01]\.\d{4})\)$")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb as far as the header goes)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def photo_dir(tiny_exports, tmp_path_factory):  # noqa: F811
    """Nine user-style photos (one of each kind) of test digits the fixture model gets right."""
    right = np.nonzero(tiny_exports.reference.argmax(1) == tiny_exports.labels)[0][:9]
    photos = make_photo_set(tiny_exports.images[right], tiny_exports.labels[right], count=9, seed=5)
    directory = tmp_path_factory.mktemp("photos")
    write_photo_set(directory, photos)
    (directory / "notes.txt").write_text("not an image, and not picked up from the directory")
    return directory, {p.name: p.label for p in photos}


@pytest.fixture(scope="module")
def bad_files(photo_dir, tmp_path_factory):
    good_dir, _ = photo_dir
    directory = tmp_path_factory.mktemp("bad")
    png = next(p for p in sorted(good_dir.iterdir()) if p.name.endswith("png-rgb.png")).read_bytes()
    jpeg = next(p for p in sorted(good_dir.iterdir()) if p.name.endswith("jpeg-rgb.jpg")).read_bytes()
    blank = io.BytesIO()
    Image.new("RGB", (300, 200), (236, 233, 228)).save(blank, "JPEG", quality=80)
    files = {
        "zero.png": (b"", "empty file"),
        "random.png": (np.random.default_rng(3).bytes(5000), "not an image"),
        "truncated.png": (png[: len(png) // 2], "corrupt or truncated"),
        "truncated.jpg": (jpeg[: len(jpeg) // 3], "corrupt or truncated"),
        "bomb.png": (png_header_only(30000, 30000), "too large"),
        "bomb_below_pillow_limit.png": (png_header_only(9000, 9000), "too large"),
        "blank.jpg": (blank.getvalue(), "no digit found"),
    }
    for name, (data, _) in files.items():
        (directory / name).write_bytes(data)
    return directory, {name: reason for name, (_, reason) in files.items()}


def run(argv, capsys):
    """Exit code, stdout and stderr after the 'model: ...' line (test_model_line checks that line)."""
    code = run_cli(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    if err.startswith("model: "):
        err = err.split("\n", 1)[1]
    return code, out, err


def test_text_output_keeps_the_book_line(tiny_exports, photo_dir, capsys):  # noqa: F811
    directory, labels = photo_dir
    code, out, err = run(["--model-dir", tiny_exports.legacy, directory], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(labels)  # notes.txt skipped: a directory yields only image files
    for line in lines:
        match = TEXT_LINE.match(line)
        assert match, line
        assert int(match["digit"]) == labels[Path(match["path"]).name], line


def test_bad_files_are_reported_and_the_rest_predicted(tiny_exports, photo_dir, bad_files, capsys):  # noqa: F811
    good_dir, labels = photo_dir
    bad_dir, reasons = bad_files
    good = sorted(str(p) for p in good_dir.glob("*.png"))[:2]
    bad = sorted(str(p) for p in bad_dir.iterdir())
    inputs = [good[0], *bad, str(bad_dir / "missing.png"), good[1]]
    code, out, err = run(["--model-dir", tiny_exports.legacy, *inputs], capsys)
    assert code == 1
    predicted = [TEXT_LINE.match(line)["path"] for line in out.splitlines()]
    assert predicted == good
    error_lines = err.splitlines()
    assert error_lines[-1] == f"{len(bad) + 1} of {len(inputs)} inputs failed"
    for path in bad:
        line = next(line for line in error_lines if line.startswith(f"error: {path}: "))
        assert reasons[Path(path).name] in line, line
    assert any(line == f"error: {bad_dir / 'missing.png'}: no such file" for line in error_lines)


def test_csv_and_json_schemas(tiny_exports, photo_dir, bad_files, capsys):  # noqa: F811
    good_dir, labels = photo_dir
    bad_dir, _ = bad_files
    inputs = [str(good_dir / name) for name in sorted(labels)[:3]] + [str(bad_dir / "zero.png")]
    code, out, err = run(["--model-dir", tiny_exports.legacy, "--format", "csv", "--top-k", "3", *inputs], capsys)
    assert code == 1 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["path", "digit", "probability", "digit_2", "probability_2", "digit_3", "probability_3", "error"]
    assert [row[0] for row in rows[1:]] == inputs
    for row in rows[1:4]:
        assert row[-1] == "" and int(row[1]) == labels[Path(row[0]).name]
        probabilities = [float(row[i]) for i in (2, 4, 6)]
        assert probabilities == sorted(probabilities, reverse=True) and len({row[1], row[3], row[5]}) == 3
    assert rows[4][1:7] == [""] * 6 and "empty file" in rows[4][7]

    code, out, err = run(["--model-dir", tiny_exports.legacy, "--format", "json", "--top-k", "2", *inputs], capsys)
    assert code == 1 and err == ""
    records = json.loads(out)
    assert [r["path"] for r in records] == inputs
    for record in records[:3]:
        assert set(record) == {"path", "digit", "probability", "top_k", "error"}
        assert record["error"] is None and record["digit"] == labels[Path(record["path"]).name]
        assert record["top_k"][0] == {"digit": record["digit"], "probability": record["probability"]}
        assert len(record["top_k"]) == 2 and 0 <= record["top_k"][1]["probability"] <= record["probability"] <= 1
    assert records[3]["digit"] is None and records[3]["top_k"] == [] and "empty file" in records[3]["error"]

    code, out, _ = run(["--model-dir", tiny_exports.legacy, "--format", "json", str(bad_dir / "nothing*.png")], capsys)
    assert code == 1 and json.loads(out)[0]["error"].endswith("no files match this pattern")


def test_globs_and_top_k_text(tiny_exports, photo_dir, capsys):  # noqa: F811
    directory, labels = photo_dir
    code, out, _ = run(["--model-dir", tiny_exports.legacy, "--top-k", "2", str(directory / "*.jpg")], capsys)
    assert code == 0
    jpegs = sorted(name for name in labels if name.endswith(".jpg"))
    lines = out.splitlines()
    assert [Path(line.split(" is: ")[0].split("Inference result of ")[1]).name for line in lines] == jpegs
    assert all(re.search(r"; top-2: \d=[01]\.\d{4}, \d=[01]\.\d{4}\)$", line) for line in lines), lines


def test_exit_code_two_for_usage_and_model_errors(tiny_exports, photo_dir, tmp_path, capsys):  # noqa: F811
    directory, _ = photo_dir
    for argv in (
        [],  # nothing to predict
        ["--top-k", "11", directory],
        ["--format", "xml", directory],
        ["--batch-size", "0", directory],
    ):
        with pytest.raises(SystemExit) as excinfo:
            main([str(a) for a in argv])
        assert excinfo.value.code == 2
    capsys.readouterr()
    code, out, err = run(["--model-dir", tmp_path / "nowhere", directory], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "no such model directory" in err
    code, _, err = run(["--model-dir", tiny_exports.legacy, "--backend", "onnx", directory], capsys)
    assert code == 2 and "no .onnx file" in err


def test_batches_are_bounded(tiny_exports, photo_dir):  # noqa: F811
    directory, _ = photo_dir
    files = sorted(str(p) for p in directory.glob("*.png"))
    pulled = []

    def lazily():
        for path in files * 3:
            pulled.append(path)
            yield path

    model = load_model(tiny_exports.legacy)
    stream = iter_predictions(lazily(), model, batch_size=2)
    first = next(stream)
    assert first.ok and len(pulled) <= 3  # one batch of 2 read ahead at most, not the whole list
    rest = list(stream)
    assert len(rest) + 1 == len(files) * 3 and all(r.ok for r in rest)


def test_predict_files_api(tiny_exports, photo_dir, bad_files):  # noqa: F811
    directory, labels = photo_dir
    bad_dir, _ = bad_files
    model = load_model(tiny_exports.legacy)
    results = predict_files([directory, bad_dir / "blank.jpg"], model, preprocess="auto", top_k=3)
    assert [Path(r.path).name for r in results[:-1]] == sorted(labels)
    assert all(r.digit == labels[Path(r.path).name] and len(r.top_k) == 3 for r in results[:-1])
    assert results[-1].digit is None and "no digit found" in results[-1].error
    by_path = predict_files([directory], tiny_exports.legacy)  # a model directory works in place of a model
    assert [r.digit for r in by_path] == [r.digit for r in results[:-1]]


def _python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("LEGACY_MNIST_VERBOSE", None)
    return env


def test_subprocess_names_its_model_and_imports_no_training_code(tiny_exports, photo_dir, tmp_path):  # noqa: F811
    directory, labels = photo_dir
    model = tiny_exports.legacy / "model.pdmodel"
    for backend in ("executor", "predictor"):
        done = subprocess.run(
            [sys.executable, "-m", "legacy_mnist.infer", "--model-dir", str(tiny_exports.legacy), "--backend",
             backend, str(directory)],
            capture_output=True, text=True, env=_python_env(), cwd=tmp_path,
        )
        assert done.returncode == 0, (backend, done.stderr[-2000:])
        assert done.stderr == f"model: {model} (format legacy, backend {backend}; given with --model-dir)\n"
        assert len(done.stdout.splitlines()) == len(labels)
    quiet = subprocess.run([sys.executable, "-m", "legacy_mnist.infer", "-q", "--model-dir", str(tiny_exports.legacy),
                            str(directory)], capture_output=True, text=True, env=_python_env(), cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == done.stdout
    probe = (
        "import sys; from legacy_mnist import infer; "
        f"infer.predict_files([{str(directory)!r}], infer.load_model({str(tiny_exports.legacy)!r}, 'predictor')); "
        "print(sorted(m for m in sys.modules if m.startswith('legacy_mnist')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_python_env())
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = eval(done.stdout.strip())  # noqa: S307 - our own repr of a list of module names
    assert "legacy_mnist.infer" in loaded
    assert not {"legacy_mnist.training.nets", "legacy_mnist.training.program", "legacy_mnist.train"} & set(loaded), loaded


def test_model_line_names_the_users_export_over_the_shipped_one(tiny_exports, photo_dir, tmp_path):  # noqa: F811
    """After `python -m legacy_mnist.train` in this directory, infer uses ./inference_model/cnn and says so."""
    directory, _ = photo_dir
    one = str(next(directory.glob("*.png")))
    cmd = [sys.executable, "-m", "legacy_mnist.infer", one]
    shipped = subprocess.run(cmd, capture_output=True, text=True, env=_python_env(), cwd=tmp_path)
    assert shipped.returncode == 0, shipped.stderr[-2000:]
    expected = REPO / "legacy_mnist" / "shipped_models" / "cnn" / "model.pdmodel"
    backend = default_backend("legacy", 1)  # one image: the default ranked for one
    assert shipped.stderr == (f"model: {expected} (format legacy, backend {backend}; shipped with legacy_mnist "
                              "as 'cnn')\n")
    shutil.copytree(tiny_exports.legacy, tmp_path / "inference_model" / "cnn")
    own = subprocess.run(cmd, capture_output=True, text=True, env=_python_env(), cwd=tmp_path)
    assert own.returncode == 0, own.stderr[-2000:]
    assert own.stderr == (f"model: {tmp_path / 'inference_model' / 'cnn' / 'model.pdmodel'} (format legacy, backend "
                          f"{backend}; your export in ./inference_model/cnn/)\n")


def test_verbose_levels(tiny_exports, photo_dir, tmp_path):  # noqa: F811
    """-v adds our own details, never Paddle's pass log; -vv adds Paddle's log too."""
    directory, _ = photo_dir
    base = [sys.executable, "-m", "legacy_mnist.infer", "--backend", "predictor", "--model-dir",
            str(tiny_exports.legacy), str(next(directory.glob("*.png")))]
    one, two = (subprocess.run(base + [flag], capture_output=True, text=True, env=_python_env(), cwd=tmp_path)
                for flag in ("-v", "-vv"))
    assert one.returncode == 0 and one.stderr.startswith("model: ") and one.stderr.count("\n") == 1, one.stderr
    assert two.returncode == 0 and two.stderr.count("\n") > 5  # the predictor's pass log
    demo = subprocess.run([sys.executable, "-m", "legacy_mnist.infer", "-v", "--demo", "--model-dir",
                           str(tiny_exports.legacy)], capture_output=True, text=True, env=_python_env(), cwd=tmp_path)
    assert demo.returncode == 0 and "MNIST test: 10000 images from" in demo.stderr, demo.stderr


def test_demo(tiny_exports, capsys):  # noqa: F811
    code, out, err = run(["--model-dir", tiny_exports.legacy, "--demo"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 10
    correct = 0
    for line in lines:
        match = TEXT_LINE.match(line)
        assert match and re.search(r"mnist-test-\d\d-label\d\.png$", match["path"]), line
        correct += int(match["digit"]) == int(match["path"][-5])
    assert correct >= 8
    assert not Path(TEXT_LINE.match(lines[0])["path"]).exists()  # the temp dir is cleaned up
