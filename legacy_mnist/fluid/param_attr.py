"""`fluid.param_attr` (and `fluid.ParamAttr`): a parameter's name, initializer, learning rate, regularizer.

Not run directly. Same class as `paddle.ParamAttr`, whose signature fluid already had.
"""
from __future__ import annotations

from ._compat import legacy_paddle, module_getattr

paddle = legacy_paddle()

ParamAttr = paddle.ParamAttr
WeightNormParamAttr = paddle.static.WeightNormParamAttr

__getattr__ = module_getattr("fluid.param_attr", {})
