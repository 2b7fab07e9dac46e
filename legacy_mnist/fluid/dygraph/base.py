"""`fluid.dygraph.base`: guard (run a block in dynamic mode), to_variable, no_grad.

Not run directly; `from legacy_mnist.fluid.dygraph.base import to_variable` works as the tutorials wrote.
"""
from __future__ import annotations

import contextlib

from .._compat import FluidArgumentError, legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()

no_grad = paddle.no_grad


@contextlib.contextmanager
def guard(place=None):
    """fluid.dygraph.guard(place=None): dynamic (eager) mode inside the block, the previous mode after it."""
    warn_once(
        "fluid.dygraph.guard",
        "dynamic mode is Paddle's default now: drop the guard (and paddle.enable_static()) or call "
        "paddle.disable_static(place)",
    )
    was_static = not paddle.in_dynamic_mode()
    paddle.disable_static(place)
    try:
        yield
    finally:
        if was_static:
            paddle.enable_static()


def to_variable(value, name=None, zero_copy=None, dtype=None):
    """fluid.dygraph.to_variable(ndarray): a Tensor holding `value` (inside guard())."""
    warn_once("fluid.dygraph.to_variable", "use paddle.to_tensor(value, dtype=dtype)")
    if not paddle.in_dynamic_mode():
        raise FluidArgumentError("fluid.dygraph.to_variable only works inside fluid.dygraph.guard()")
    return paddle.to_tensor(value, dtype=dtype)


__getattr__ = module_getattr("fluid.dygraph.base", {"enabled": "paddle.in_dynamic_mode"})
