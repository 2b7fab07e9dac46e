"""Bounds for numbers that reach native code, and the Python API's checks of what it is handed.

Not run directly; the commands' argument checks, `TrainConfig` validation and `Model.predict` use it.
OpenMP aborts the process when asked for 100,000 threads, Paddle's and numpy's seeds are unsigned 32-bit
numbers, and a model fed NaN or 0-255 pixels answers confidently and wrongly - so each is refused here
with a message naming the option, before anything native sees it.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..errors import UserError
from ..normalize import IMAGE_SHAPE, to_model_input
from ..paddle_env import available_cores

SEED_MAX = 2**32 - 1  # numpy's SeedSequence and Paddle's program seeds are unsigned 32-bit
_RANGE_SLACK = 1e-3  # float rounding around the [-1, 1] contract


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_threads(value, option: str) -> int | None:
    """None (every core) or a thread count between 1 and the cores this process may use."""
    if value is None:
        return None
    cores = available_cores()
    if not is_int(value) or not 1 <= value <= cores:
        raise UserError(f"--{option} must be between 1 and {cores} (the cores this process may use), got {value!r}")
    return int(value)


def check_seed(value, option: str) -> int:
    if not is_int(value) or not 0 <= value <= SEED_MAX:
        raise UserError(f"--{option} must be an integer from 0 to {SEED_MAX}, got {value!r}")
    return int(value)


def model_input(batch) -> np.ndarray:
    """A batch for `Model.predict` -> contiguous float32 [N, 1, 28, 28] in [-1, 1] (ValueError if it is not one).

    uint8 arrays are pixels (0 background, 255 ink) and are scaled with the training normalisation; floats
    must already be on the model's [-1, 1] scale and finite; other integer types, booleans and objects are
    refused, since nothing says which scale they are on.
    """
    array = np.asarray(batch)
    if array.ndim in (2, 3) and array.shape[-2:] == IMAGE_SHAPE[1:]:
        array = array.reshape((-1,) + IMAGE_SHAPE)
    if array.ndim != 4 or array.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected a batch of shape [N, 1, 28, 28] (or [N, 28, 28]), got {list(array.shape)}")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(to_model_input(array))
    if array.dtype.kind != "f":
        raise ValueError(f"expected float32 values in [-1, 1] or uint8 pixels 0-255, got {array.dtype} (scale "
                         "other integer pixels yourself: legacy_mnist.normalize.to_model_input takes 0-255)")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if array.size:
        # min and max carry a NaN through and an infinity fails the range: two reductions check all three
        # (this runs on every predict call; a single image's whole OpenVINO run takes 60 us).
        low, high = float(array.min()), float(array.max())
        if not (low >= -1 - _RANGE_SLACK and high <= 1 + _RANGE_SLACK) and not np.isfinite(array).all():
            raise ValueError("the batch holds NaN or infinite values")
        if low < -1 - _RANGE_SLACK or high > 1 + _RANGE_SLACK:
            raise ValueError(f"values span [{low:g}, {high:g}], the model takes [-1, 1] (0-255 pixels: pass them "
                             "as uint8, or through legacy_mnist.normalize.to_model_input)")
    return array
