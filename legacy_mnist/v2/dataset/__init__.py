"""`paddle.dataset`: MNIST, from the project's verified offline copy (legacy_mnist.dataset.mnist).

Not run directly; `paddle.dataset.mnist.train()` / `.test()` are reader creators of (float32[784] in
[-1, 1], int label), the samples v2's downloader gave. The other v2 datasets are not covered.
"""
from __future__ import annotations

from . import mnist
from .._names import v2_getattr

_DOWNLOADS = "paddle.text.datasets / paddle.vision.datasets (they download; see docs/porting.md)"
__getattr__ = v2_getattr("dataset", {
    "cifar": "paddle.vision.datasets.Cifar10 / Cifar100 (they download)",
    "flowers": "paddle.vision.datasets.Flowers (it downloads)",
    "voc2012": "paddle.vision.datasets.VOC2012 (it downloads)",
    "uci_housing": "paddle.text.datasets.UCIHousing (it downloads)",
    "imdb": _DOWNLOADS, "imikolov": _DOWNLOADS, "movielens": _DOWNLOADS, "conll05": _DOWNLOADS,
    "wmt14": _DOWNLOADS, "wmt16": _DOWNLOADS, "sentiment": _DOWNLOADS, "mq2007": _DOWNLOADS,
    "common": "legacy_mnist.dataset (verified offline MNIST); paddle.dataset.common for the rest",
})
