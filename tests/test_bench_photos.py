"""Section photos of the benchmark: how readings are scored, and the worker reading only the checkout named.

Run:  python -m pytest -q tests/test_bench_photos.py      (a few seconds; the section itself runs in
      tests/test_bench.py's --quick run)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from legacy_mnist.benchmarks import photos


def test_edit_distance():
    assert photos.edit_distance("4071", "4071") == 0
    assert photos.edit_distance("4071", "4") == 3  # the old code's one digit for a 4-digit number
    assert photos.edit_distance("4071", "4011") == 1
    assert photos.edit_distance("42", "412") == 1
    assert photos.edit_distance("", "7") == 1


def test_readings_are_scored_per_set_and_page_kind():
    manifest = [
        {"set": "paper", "kind": "ruled", "label": "3"}, {"set": "paper", "kind": "ruled", "label": "5"},
        {"set": "paper", "kind": "shadow", "label": "1"},
        {"set": "paper", "kind": "blank-ruled", "label": ""}, {"set": "paper", "kind": "blank-plain", "label": ""},
        {"set": "uci", "kind": "uci", "label": "9"}, {"set": "uci", "kind": "uci", "label": "9"},
        {"set": "numbers", "kind": "plain", "label": "42"}, {"set": "numbers", "kind": "ruled", "label": "4071"},
    ]
    rows = photos.score(manifest, ["3", "", "7", "", "1", "9", "3", "42", "4"])
    assert rows["paper: ruled"] == {"right": 1, "count": 2, "not_found": 1}
    assert rows["paper: shadow"] == {"right": 0, "count": 1, "not_found": 0}
    assert photos.rate(rows["paper: all pages with a digit"]) == pytest.approx(1 / 3)
    assert rows["paper: blank pages (no digit found)"] == {"right": 1, "count": 2}  # a guess on a blank is wrong
    assert photos.rate(rows["uci"]) == 0.5 and rows["uci 9"] == {"right": 1, "count": 2}
    assert rows["numbers"] == {"right": 1, "count": 2, "digits": 6, "errors": 3}
    assert photos.digit_accuracy(rows["numbers"]) == pytest.approx(0.5)
    assert rows["numbers, 4 digits"] == {"right": 0, "count": 1}
    table = photos.render({"seed": 14, "sizes": {"paper": 5}, "make": {}, "checkouts": {
        "after": {"checkout": "/x", "commit": "abc", "numbers": "read_number", "scores": {"cnn": rows}}}})
    assert "| paper: ruled | 50.0% (1/2, 1 no digit) |" in table
    assert "| numbers: digit accuracy (1 - edit distance / digits) | 50.0% (3/6) |" in table


def test_the_reader_refuses_a_checkout_it_did_not_import(tmp_path):
    """The before column is only the old code's if legacy_mnist came from the old checkout."""
    (tmp_path / "manifest.json").write_text("[]")
    done = subprocess.run([sys.executable, str(photos.WORKER), "read",
                           json.dumps({"data": str(tmp_path), "checkout": str(tmp_path)})],
                          env=dict(os.environ, PYTHONPATH=str(photos.REPO)), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "not from the checkout" in done.stderr, done.stderr[-500:]
