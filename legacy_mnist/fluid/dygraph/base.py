"""`fluid.dygraph.base`: guard (run a block in dynamic mode), to_variable, no_grad.

Not run directly; `from legacy_mnist.fluid.dygraph.base import to_variable` works as the tutorials wrote.
"""
from __future__ import annotations

import contextlib

from .._compat import FluidArgumentError, legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()

no_grad = paddle.no_grad
_MARK = "_legacy_mnist_one_element"


def restore_one_element_conversions() -> None:
    """float()/int() of a one-element Tensor of any rank, as fluid 1.8's VarBase converted it.

    fluid's mean/accuracy have shape [1] (kept here); Paddle 3.3.1 converts through `float(np.array(t))`,
    which numpy 2.4 refuses for arrays of ndim > 0, so the dygraph tutorials' `float(avg_loss)` would stop.
    Other tensors keep Paddle's own conversion (and its error).
    """
    tensor = paddle.Tensor
    for name, convert in (("__float__", float), ("__int__", int)):
        original = getattr(tensor, name)
        if getattr(original, _MARK, False):
            continue

        def method(self, _original=original, _convert=convert):
            if len(self.shape) > 0 and self.size == 1:
                return _convert(self.numpy().reshape(-1)[0])
            return _original(self)

        setattr(method, _MARK, True)
        setattr(tensor, name, method)


restore_one_element_conversions()


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
