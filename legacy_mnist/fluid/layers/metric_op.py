"""`fluid.layers.metric_op`: accuracy, top-k accuracy of a batch.

Not run directly; `fluid.layers.accuracy(input=prediction, label=label)` works as in the book.
"""
from __future__ import annotations

from .._compat import legacy_paddle, module_getattr, warn_once
from ._hints import REPLACEMENTS

paddle = legacy_paddle()


def accuracy(input, label, k=1, correct=None, total=None):
    """fluid.layers.accuracy: top-k accuracy of `input` (scores, [N, C]) against `label` ([N, 1] int64)."""
    warn_once(
        "fluid.layers.accuracy",
        "use paddle.static.accuracy(input, label, k) (paddle.metric.accuracy in dygraph); it returns a 0-D "
        "tensor where fluid's (and this one) had shape [1]: read a fetched value with float(v), not v[0]",
    )
    if paddle.in_dynamic_mode():
        out = paddle.metric.accuracy(input, label, k=k, correct=correct, total=total)
    else:
        out = paddle.static.accuracy(input, label, k=k, correct=correct, total=total)
    return paddle.reshape(out, [1])  # fluid's accuracy op wrote shape [1]


__getattr__ = module_getattr("fluid.layers.metric_op", REPLACEMENTS)
