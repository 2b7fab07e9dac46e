"""`fluid.layers`: the static-graph layers of the recognize-digits tutorials, on `paddle.static` (legacy IR).

Not run directly; use `import legacy_mnist.fluid as fluid` and call `fluid.layers.fc(...)` as the book did.
A package laid out as fluid 1.8's: `nn`, `io`, `loss`, `metric_op`, `tensor`, `ops`, `control_flow` and
`device` hold what fluid defined there, so `from legacy_mnist.fluid.layers.device import get_places`
works; every name is also here. Each function keeps fluid's signature and semantics; where the modern call
differs in a way that changes a port it warns once with the modern spelling; an uncovered name raises
NotCoveredError naming its replacement (also under `from ... import`).
"""
from __future__ import annotations

from .._compat import module_getattr
from . import control_flow, device, io, loss, metric_op, nn, ops, tensor
from ._hints import REPLACEMENTS
from .device import get_places
from .io import data
from .loss import cross_entropy
from .metric_op import accuracy
from .nn import _pool2d, batch_norm, conv2d, dropout, fc, log, mean, pool2d, relu, reshape, softmax  # noqa: F401
from .ops import (  # noqa: F401
    abs, ceil, cos, erf, exp, floor, logsigmoid, reciprocal, round, rsqrt, sigmoid, sin, softplus, softsign,
    sqrt, square, tanh,
)
from .tensor import assign, cast, concat, fill_constant, ones, sums, zeros  # noqa: F401

__getattr__ = module_getattr("fluid.layers", REPLACEMENTS)
