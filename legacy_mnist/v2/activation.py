"""`paddle.activation`: the v2 activation objects, each one legacy op applied after a layer.

Not run directly; `paddle.layer.fc(input=x, size=10, act=paddle.activation.Softmax())`.
"""
from __future__ import annotations

from . import _ops
from ._names import v2_getattr


class BaseActivation:
    """v2's activation: `name` is what its layer config recorded (e.g. 'softmax')."""

    name = ""
    op: str | None = None  # the legacy op; None is the identity
    attrs: dict = {}

    def apply(self, x):
        return x if self.op is None else _ops.unary(self.op, x, **self.attrs)

    def __repr__(self) -> str:
        return f"paddle.activation.{type(self).__name__}()"


def _activation(class_name: str, name: str, op: str | None, doc: str, **attrs):
    return type(class_name, (BaseActivation,), {"name": name, "op": op, "attrs": attrs, "__doc__": doc})


Softmax = _activation("Softmax", "softmax", "softmax", "exp(x) / sum(exp(x)) over each sample", axis=-1)
Relu = _activation("Relu", "relu", "relu", "max(0, x)")
Tanh = _activation("Tanh", "tanh", "tanh", "tanh(x) (v2's default for fc layers)")
Sigmoid = _activation("Sigmoid", "sigmoid", "sigmoid", "1 / (1 + exp(-x))")
Linear = _activation("Linear", "", None, "the identity")
Identity = Linear
Exp = _activation("Exp", "exponential", "exp", "exp(x)")
Abs = _activation("Abs", "abs", "abs", "|x|")
Square = _activation("Square", "square", "square", "x * x")
Log = _activation("Log", "log", "log", "log(x)")
SoftRelu = _activation("SoftRelu", "softrelu", "softplus", "log(1 + exp(x))")
BRelu = _activation("BRelu", "brelu", "brelu", "min(24, max(0, x))", t_min=0.0, t_max=24.0)
STanh = _activation("STanh", "stanh", "stanh", "1.7159 * tanh(2/3 * x)", scale_a=2.0 / 3.0, scale_b=1.7159)

__getattr__ = v2_getattr("activation", {
    "SequenceSoftmax": "nothing: LoD sequences were removed; paddle.nn.functional.softmax over a padded batch",
    "Reciprocal": "paddle.reciprocal",
    "Sqrt": "paddle.sqrt",
    "SoftSign": "paddle.nn.functional.softsign",
})
