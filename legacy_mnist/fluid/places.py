"""`fluid.CPUPlace` / `fluid.CUDAPlace`: where an Executor runs.

Not run directly. `CUDAPlace` on a build without CUDA fails with a one-line message instead of Paddle's
"use wrong place".
"""
from __future__ import annotations

from ._compat import FluidArgumentError, legacy_paddle

paddle = legacy_paddle()

CPUPlace = paddle.CPUPlace


def CUDAPlace(device_id=0):
    """fluid.CUDAPlace(device_id): paddle.CUDAPlace, with a clear error where Paddle has no CUDA."""
    if not paddle.is_compiled_with_cuda():
        raise FluidArgumentError(
            f"fluid.CUDAPlace({device_id}): this Paddle build has no CUDA support; use fluid.CPUPlace() "
            "(scripts check fluid.core.is_compiled_with_cuda() first)"
        )
    return paddle.CUDAPlace(device_id)
