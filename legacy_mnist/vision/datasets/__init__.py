"""legacy_mnist.vision.datasets: MNIST from the verified offline copy, with paddle.vision's interface.

Try it:  python -c "from legacy_mnist.vision.datasets import MNIST; print(len(MNIST(mode='test')))"
"""
from __future__ import annotations

from .mnist import MNIST
from ...compat.not_covered import module_getattr

_DOWNLOADS = "paddle.vision.datasets.{} (it downloads; offline, pass its files' paths)"
__getattr__ = module_getattr("paddle.vision.datasets", {
    "FashionMNIST": _DOWNLOADS.format("FashionMNIST"),
    "Cifar10": _DOWNLOADS.format("Cifar10"),
    "Cifar100": _DOWNLOADS.format("Cifar100"),
    "Flowers": _DOWNLOADS.format("Flowers"),
    "VOC2012": _DOWNLOADS.format("VOC2012"),
    "DatasetFolder": "paddle.vision.datasets.DatasetFolder (it reads local folders as is)",
    "ImageFolder": "paddle.vision.datasets.ImageFolder (it reads local folders as is)",
}, "legacy_mnist.vision")

__all__ = ["MNIST"]
