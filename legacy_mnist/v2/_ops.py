"""Legacy-IR ops that Paddle 3.3.1's Python functions no longer append to a legacy Program.

Not run directly. Under the legacy IR, `paddle.sum`, `paddle.tanh`, `paddle.nn.functional.sigmoid` and
friends are PIR-only builtins (`TypeError: ... must be Value, but got Variable`); the ops themselves still
exist, so the v2 layers append them through a LayerHelper, as fluid did.
"""
from __future__ import annotations

from ..fluid._compat import legacy_paddle

paddle = legacy_paddle()


def unary(op_type: str, x, **attrs):
    """Append the legacy op `op_type` (tanh, sigmoid, exp, ...) on `x`; returns its output variable."""
    from paddle.base.layer_helper import LayerHelper

    helper = LayerHelper(op_type)
    out = helper.create_variable_for_type_inference(x.dtype)
    helper.append_op(type=op_type, inputs={"X": [x]}, outputs={"Out": [out]}, attrs=attrs)
    return out


def total(x):
    """The sum of every element of `x` (a 0-D variable)."""
    return unary("reduce_sum", x, dim=[0], keep_dim=False, reduce_all=True)
