"""`fluid.layers.device`: get_places, the device list of fluid's ParallelDo era.

Not run directly; `from legacy_mnist.fluid.layers.device import get_places` works as Paddle's fluid book
tests wrote it. fluid 1.8 still defined it (deprecated since 0.15 in favour of ParallelExecutor); the op it
appended is gone, so here it returns the places themselves (what that op's output held).
"""
from __future__ import annotations

from .._compat import FluidArgumentError, legacy_paddle, module_getattr, warn_once
from ._hints import REPLACEMENTS

paddle = legacy_paddle()


def get_places(device_count=None, device_type=None):
    """The places to run on: `device_count` CPUs (default: all, CPU_NUM) or CUDA devices (device_type='CUDA')."""
    warn_once("fluid.layers.get_places", "use paddle.static.cpu_places(n) / paddle.static.cuda_places() "
              "(fluid deprecated get_places in 0.15)")
    kind = (device_type or ("CUDA" if paddle.is_compiled_with_cuda() else "CPU")).upper()
    if kind not in ("CPU", "CUDA"):
        raise FluidArgumentError(f"get_places: device_type must be 'CPU' or 'CUDA', got {device_type!r}")
    if kind == "CUDA":
        places = paddle.static.cuda_places()
        return places[:device_count] if device_count else places
    return paddle.static.cpu_places(device_count)


__getattr__ = module_getattr("fluid.layers.device", REPLACEMENTS)
