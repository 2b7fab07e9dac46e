"""legacy_mnist.vision: `paddle.vision.datasets.MNIST` that works offline, for the Paddle 2.x tutorials.

Use: change `paddle.vision.datasets.MNIST` to `legacy_mnist.vision.datasets.MNIST` (and `import
legacy_mnist.vision`); the rest of a `paddle.Model` / `paddle.io.DataLoader` script stays as it is.
Paddle's own class downloads its gzip files and checks their md5 (offline it fails after three retries,
and it rejects a verified cache whose gzip bytes differ); this one reads the project's verified MNIST
(legacy_mnist.dataset) and yields the same samples. Importing it does not change Paddle's mode.
"""
from __future__ import annotations

from . import datasets
from ..compat.not_covered import module_getattr

__getattr__ = module_getattr("paddle.vision", {
    "transforms": "paddle.vision.transforms (it works offline as is)",
    "models": "paddle.vision.models (works offline when pretrained=False)",
    "ops": "paddle.vision.ops (it works offline as is)",
}, "legacy_mnist.vision")
