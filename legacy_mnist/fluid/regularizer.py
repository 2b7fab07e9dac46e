"""`fluid.regularizer`: L2Decay/L1Decay with fluid's `regularization_coeff` keyword and old class names.

Not run directly; `fluid.optimizer.Adam(regularization=fluid.regularizer.L2Decay(1e-4))` works as in fluid.
"""
from __future__ import annotations

from ._compat import FluidArgumentError, legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()


def _coeff(cls_name: str, regularization_coeff, coeff):
    if coeff is not None:
        if regularization_coeff is not None:
            raise FluidArgumentError(f"{cls_name}: give regularization_coeff= or coeff=, not both")
        return coeff
    if regularization_coeff is None:
        return 0.0
    return regularization_coeff


class L2Decay(paddle.regularizer.L2Decay):
    """fluid.regularizer.L2Decay(regularization_coeff=0.0): adds coeff * w to each gradient."""

    def __init__(self, regularization_coeff=None, coeff=None):
        super().__init__(coeff=_coeff("L2Decay", regularization_coeff, coeff))


class L1Decay(paddle.regularizer.L1Decay):
    """fluid.regularizer.L1Decay(regularization_coeff=0.0): adds coeff * sign(w) to each gradient."""

    def __init__(self, regularization_coeff=None, coeff=None):
        super().__init__(coeff=_coeff("L1Decay", regularization_coeff, coeff))


def _old_spelling(modern_cls):
    old_name = f"{modern_cls.__name__}Regularizer"

    def __init__(self, regularization_coeff=None, coeff=None):
        warn_once(
            f"fluid.regularizer.{old_name}",
            f"the class is paddle.regularizer.{modern_cls.__name__}(coeff=...) now; "
            "its regularization_coeff= keyword is coeff=",
        )
        modern_cls.__init__(self, regularization_coeff, coeff)

    return type(old_name, (modern_cls,), {"__init__": __init__, "__doc__": f"fluid's spelling of {modern_cls.__name__}."})


L2DecayRegularizer = _old_spelling(L2Decay)
L1DecayRegularizer = _old_spelling(L1Decay)

__getattr__ = module_getattr("fluid.regularizer", {"WeightDecayRegularizer": "paddle.regularizer.WeightDecayRegularizer"})
