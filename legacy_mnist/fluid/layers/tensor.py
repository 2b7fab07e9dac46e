"""`fluid.layers.tensor`: the tensor-making layers (cast, concat, fill_constant, ...) with fluid's defaults.

Not run directly; `fluid.layers.fill_constant(shape=[1], dtype='int64', value=0)` works as in fluid 1.8.
argmax/argmin are not covered (paddle.argmax runs only in dygraph and PIR here): their hint keeps fluid's
axis=0 default in view.
"""
from __future__ import annotations

from .._compat import legacy_paddle, module_getattr
from ._hints import REPLACEMENTS

paddle = legacy_paddle()


def cast(x, dtype):
    """fluid.layers.cast: `x` as `dtype`."""
    return paddle.cast(x, dtype)


def concat(input, axis=0, name=None):
    """fluid.layers.concat: join the tensors of `input` along `axis` (default 0)."""
    return paddle.concat(input, axis=axis, name=name)


def sums(input, out=None):
    """fluid.layers.sums: the element-wise sum of the tensors in `input`."""
    result = paddle.add_n(input)
    return result if out is None else paddle.assign(result, out)


def assign(input, output=None):
    """fluid.layers.assign: copy `input` (a tensor or numpy array) into `output` or a new tensor."""
    return paddle.assign(input, output)


def fill_constant(shape, dtype, value, force_cpu=False, out=None, name=None):
    """fluid.layers.fill_constant: a tensor of `shape` filled with `value`."""
    result = paddle.full(shape, value, dtype=dtype, name=name)
    return result if out is None else paddle.assign(result, out)


def ones(shape, dtype, force_cpu=False):
    """fluid.layers.ones: a tensor of ones."""
    return paddle.ones(shape, dtype=dtype)


def zeros(shape, dtype, force_cpu=False):
    """fluid.layers.zeros: a tensor of zeros."""
    return paddle.zeros(shape, dtype=dtype)



__getattr__ = module_getattr("fluid.layers.tensor", REPLACEMENTS)
