"""The one pixel normalisation shared by the readers, the trainer and the predictor.

Not run directly. MNIST pixels (uint8, 0 = background, 255 = ink) map to float32 in [-1, 1] bit for bit as
`paddle.dataset.mnist` did (`x / 255.0 * 2.0 - 1.0`, each step in float32), which is also the exported
model's input contract.
"""
from __future__ import annotations

import numpy as np

IMAGE_SHAPE = (1, 28, 28)
FLAT_SIZE = 28 * 28

# A table lookup gives the legacy reader's exact float32 results at memory-copy speed.
_UINT8_TABLE = np.arange(256).astype(np.float32) / 255.0 * 2.0 - 1.0


def normalize(pixels: np.ndarray) -> np.ndarray:
    """Pixels of any shape (uint8, or floats on the 0..255 scale) -> float32 in [-1, 1], same shape."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        return _UINT8_TABLE[pixels]
    return pixels.astype(np.float32) / 255.0 * 2.0 - 1.0


def to_model_input(pixels: np.ndarray) -> np.ndarray:
    """A batch of 28x28 (or flat 784) images on the 0..255 scale -> float32 [N, 1, 28, 28] model input."""
    pixels = np.asarray(pixels)
    return normalize(pixels.reshape((-1,) + IMAGE_SHAPE))
