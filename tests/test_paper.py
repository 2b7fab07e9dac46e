"""Preprocessing on generated notebook pages: rules, grids, shadow edges, light gradients, inks, blank pages.

Run:  python -m pytest -q tests/test_paper.py
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from legacy_mnist.preprocess import NoDigitError, page_ink, preprocess_image, remove_rules
from legacy_mnist.synthetic import BLANK_KINDS, PAPER_KINDS, make_paper_set, render_page


@pytest.fixture(scope="module")
def cnn():
    from legacy_mnist.infer import load_model

    return load_model(name="cnn")


@pytest.fixture(scope="module")
def test_split(mnist_cache):
    from legacy_mnist.dataset import load_split

    return load_split("test", log=lambda line: None)


def read(model, page) -> str:
    from legacy_mnist.normalize import to_model_input

    with Image.open(io.BytesIO(page.data)) as image:
        try:
            pixels = preprocess_image(image)
        except NoDigitError:
            return ""
    return str(int(model.predict(to_model_input(pixels[None])).argmax()))


def test_ruled_squared_and_shadowed_pages_read_the_right_digit(cnn, test_split):
    pages = make_paper_set(test_split.images[100:], test_split.labels[100:], count=3 * len(PAPER_KINDS), seed=3)
    assert {p.kind for p in pages} == set(PAPER_KINDS)
    right = {kind: 0 for kind in PAPER_KINDS}
    for page in pages:
        right[page.kind] += read(cnn, page) == page.label
    # Without rule removal and the shadow-following paper, ruled, squared and shadow pages fail half the time.
    assert sum(right.values()) >= 19, right
    assert min(right.values()) >= 2, right


def test_blank_pages_are_reported_not_guessed(test_split):
    pages = make_paper_set(test_split.images, test_split.labels, count=0, seed=5, blanks=2 * len(BLANK_KINDS))
    reported = 0
    for page in pages:
        with Image.open(io.BytesIO(page.data)) as image:
            try:
                preprocess_image(image)
            except NoDigitError as exc:
                assert str(exc).startswith("no digit found")
                reported += 1
    assert reported >= len(pages) - 1, f"{reported} of {len(pages)} blank pages reported"


def test_rules_are_removed_and_crossing_strokes_kept():
    rng = np.random.default_rng(0)
    ink = np.zeros((120, 30), np.float32)
    ink[:, 12:18] = 1.0  # a '1' written straight across several rules
    page = render_page(ink, "ruled", rng, side=300, line_height=40)
    found = page_ink(page)
    assert "horizontal" in found.rules and "vertical" in found.rules  # the rules and the red margin line
    ys, xs = np.nonzero(found.soft > 0.5)
    assert xs.max() - xs.min() < 15  # nothing of the rules left beside the stroke
    column = found.soft[ys.min() : ys.max() + 1, int(np.median(xs))]
    assert column.min() > 0.3  # the stroke is not cut where it crossed a rule


def test_remove_rules_leaves_a_page_without_rules_alone():
    ink = np.zeros((200, 200), np.float32)
    ink[50:150, 60:66] = 0.9
    ink[50:56, 60:140] = 0.9  # a long bar, but not across the page
    cleaned, found, removed = remove_rules(ink)
    assert found == () and not removed.any() and np.array_equal(cleaned, ink)


def test_evaluate_photo_set_paper(tiny_exports, capsys):  # noqa: F811
    import json

    from legacy_mnist.evaluate import main

    argv = ["--model-dir", str(tiny_exports.legacy), "--photos", "7", "--photo-set", "paper", "--seed", "2",
            "--format", "json", "-q"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 7 and "notebook paper (seed 2)" in report["data"]
