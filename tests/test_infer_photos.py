"""Prediction on user-style photos: `--preprocess auto` must recognise them, the book's resize mostly not.

Run:  python -m pytest -q tests/test_infer_photos.py
The photos are MNIST test digits rendered by `legacy_mnist.synthetic` as dark ink on paper, off-centre,
50-600 px, as PNG/JPEG, RGB/RGBA/palette/16-bit/CMYK, EXIF-rotated and animated GIF (10 of each kind).
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture

from legacy_mnist.infer import load_model, predict_files
from legacy_mnist.synthetic import KINDS, make_photo_set, write_photo_set

PER_KIND = 10


def test_auto_preprocessing_recognises_photos_and_book_does_not(tiny_exports, tmp_path):  # noqa: F811
    count = PER_KIND * len(KINDS)
    photos = make_photo_set(tiny_exports.images, tiny_exports.labels, count=count, seed=11)
    paths = write_photo_set(tmp_path, photos)
    model = load_model(tiny_exports.legacy)
    accuracy = {}
    for mode in ("auto", "book"):
        results = predict_files(paths, model, preprocess=mode, batch_size=32)
        assert [Path(r.path).name for r in results] == [p.name for p in photos]
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        hits = defaultdict(list)
        for photo, result in zip(photos, results):
            hits[photo.kind].append(result.digit == photo.label)
        accuracy[mode] = float(np.mean([h for kind in hits.values() for h in kind]))
        if mode == "auto":
            per_kind = {kind: float(np.mean(h)) for kind, h in hits.items()}
            assert min(per_kind.values()) >= 0.6, per_kind  # no file kind is left behind
    model_on_mnist = float(np.mean(tiny_exports.reference[:count].argmax(1) == tiny_exports.labels[:count]))
    # The fixture model is small (~90-95% on MNIST): auto must come close to what it scores on MNIST itself.
    assert accuracy["auto"] >= model_on_mnist - 0.1, (accuracy, model_on_mnist)
    assert accuracy["auto"] >= 0.8, accuracy
    assert accuracy["book"] <= 0.45, accuracy
