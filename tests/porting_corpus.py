"""The porting corpus for tests: found, or the test is skipped (under CI it must be there: fail).

Not a test module; the edits a porter makes live in legacy_mnist/benchmarks/corpus.py (the bench uses them too).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from legacy_mnist.benchmarks.corpus import REPO, candidates, find_corpus  # noqa: F401 (REPO re-exported)


def corpus_dir() -> Path:
    path = find_corpus()
    if path is not None:
        return path
    message = (f"porting corpus not found (looked in {', '.join(map(str, candidates()))}; "
               "set LEGACY_MNIST_PORTING_CORPUS)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
