"""Tests for `python -m legacy_mnist.evaluate`: accuracy, per-class accuracy, confusion matrix, PNGs.

Run:  python -m pytest -q tests/test_evaluate.py
"""
from __future__ import annotations

import io
import json

import numpy as np
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from PIL import Image

from legacy_mnist.errors import run_cli
from legacy_mnist.evaluate import evaluate, format_text, main, summarize, to_json
from legacy_mnist.infer import load_model
from legacy_mnist.inference.backends import default_backend


def test_evaluate_counts_match_the_predictions(tiny_exports):  # noqa: F811
    model = load_model(tiny_exports.legacy)
    result = evaluate(model, tiny_exports.images, tiny_exports.labels, batch_size=128)
    predicted = tiny_exports.reference.argmax(1)
    assert result.count == len(tiny_exports.labels)
    assert result.correct == int(np.sum(predicted == tiny_exports.labels))
    assert abs(result.accuracy - tiny_exports.accuracy) < 1e-12
    assert result.confusion.sum() == result.count and np.trace(result.confusion) == result.correct
    for digit in range(10):
        mine = tiny_exports.labels == digit
        assert result.support[digit] == mine.sum()
        assert result.per_class_accuracy[digit] == np.mean(predicted[mine] == digit)
        assert np.array_equal(result.confusion[digit], np.bincount(predicted[mine], minlength=10))


def test_unreadable_images_count_as_wrong():
    labels = np.array([0, 1, 1, 2])
    probs = np.eye(10, dtype=np.float32)[[0, 1, 1, 2]]
    result = summarize(labels, probs, readable=np.array([True, True, False, True]))
    assert result.correct == 3 and result.unreadable == 1 and result.accuracy == 0.75
    assert result.support[1] == 2 and result.per_class_accuracy[1] == 0.5 and result.confusion.sum() == 3
    assert "No digit found in 1 images" in format_text(result)
    assert to_json(result)["unreadable"] == 1


def test_cli_json_text_and_pictures(tiny_exports, tmp_path, capsys):  # noqa: F811
    limit = ["--model-dir", str(tiny_exports.legacy), "--limit", "300"]
    plots = {"--plot": tmp_path / "confusion.png", "--misclassified": tmp_path / "wrong.png",
             "--samples": tmp_path / "samples.png"}
    argv = limit + ["--format", "json"] + [str(a) for pair in plots.items() for a in pair]
    assert run_cli(main, argv) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    backend = default_backend("legacy")
    assert err == f"model: {tiny_exports.legacy / 'model.pdmodel'} (format legacy, backend {backend}; given with --model-dir)\n"
    assert report["count"] == 300 and report["format"] == "legacy" and report["backend"] == backend
    expected = int(np.sum(tiny_exports.reference[:300].argmax(1) == tiny_exports.labels[:300]))
    assert report["correct"] == expected and abs(report["accuracy"] - expected / 300) < 1e-12
    assert len(report["per_class"]) == 10 and sum(row["support"] for row in report["per_class"]) == 300
    assert np.array(report["confusion"]).shape == (10, 10) and np.array(report["confusion"]).sum() == 300
    for path in plots.values():
        with Image.open(io.BytesIO(path.read_bytes())) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in plots.values())  # no temp files

    assert run_cli(main, limit) == 0
    text, _ = capsys.readouterr()
    assert f"Test accuracy: {expected / 300:.4f} ({expected}/300)" in text
    assert "Per-class accuracy:" in text and "Confusion matrix" in text
    assert len([line for line in text.splitlines() if line.startswith("  ") and ":" in line]) == 20


def test_cli_photos_mode_measures_preprocessing(tiny_exports, capsys):  # noqa: F811
    scores = {}
    for mode in ("auto", "book"):
        argv = ["--model-dir", str(tiny_exports.legacy), "--photos", "27", "--preprocess", mode, "--format", "json"]
        assert run_cli(main, argv) == 0
        report = json.loads(capsys.readouterr()[0])
        assert report["count"] == 27 and f"preprocess {mode}" in report["data"]
        scores[mode] = report["accuracy"]
    assert scores["auto"] > scores["book"] + 0.3, scores


def test_cli_missing_model_is_exit_2(tmp_path, capsys):
    assert run_cli(main, ["--model-dir", str(tmp_path / "none")]) == 2
    assert "no such model directory" in capsys.readouterr()[1]
