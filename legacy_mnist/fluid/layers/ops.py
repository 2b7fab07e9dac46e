"""`fluid.layers.ops`: element-wise activations (sigmoid, tanh, exp, sqrt, ...), fluid 1.8's layers/ops.py.

Not run directly; `fluid.layers.sigmoid(x)` works as in fluid. Each is the paddle function of the same
name and semantics.
"""
from __future__ import annotations

from .._compat import legacy_paddle, module_getattr
from ._hints import REPLACEMENTS

paddle = legacy_paddle()
F = paddle.nn.functional

sigmoid = F.sigmoid
logsigmoid = F.log_sigmoid
tanh = paddle.tanh
exp = paddle.exp
sqrt = paddle.sqrt
rsqrt = paddle.rsqrt
abs = paddle.abs  # noqa: A001 - fluid's name
ceil = paddle.ceil
floor = paddle.floor
cos = paddle.cos
sin = paddle.sin
round = paddle.round  # noqa: A001 - fluid's name
reciprocal = paddle.reciprocal
square = paddle.square
softplus = F.softplus
softsign = F.softsign
erf = paddle.erf

__getattr__ = module_getattr("fluid.layers.ops", REPLACEMENTS)
