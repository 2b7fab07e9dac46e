"""`paddle.attr`: v2's parameter attributes (`Param`) and extra layer attributes (`Extra`).

Not run directly; `paddle.layer.fc(..., param_attr=paddle.attr.Param(initial_std=0.01, l2_rate=1e-4),
layer_attr=paddle.attr.Extra(drop_rate=0.5))`. The initial values follow v2's ParameterAttribute
(trainer_config_helpers/attrs.py): no initial_* given means v2's "smart" initialisation, a normal
distribution with std 1/sqrt(fan-in); initial_max/min mean a uniform distribution.
"""
from __future__ import annotations

from dataclasses import dataclass

from ._names import uncovered, v2_getattr

_PROTO_DEFAULT_STD = 0.01  # ParameterConfig.proto's initial_std default, used when only initial_mean is given


@dataclass(frozen=True)
class Init:
    """How a parameter starts: ("normal", mean, std), ("uniform", low, high) or ("smart", 0, 0)."""

    kind: str
    a: float = 0.0
    b: float = 0.0


ZEROS = Init("normal", 0.0, 0.0)


class Param:
    """paddle.attr.Param (= ParamAttr, ParameterAttribute): a parameter's name, initial values, updates."""

    def __init__(self, name=None, is_static=False, initial_std=None, initial_mean=None, initial_max=None,
                 initial_min=None, l1_rate=None, l2_rate=None, learning_rate=None, momentum=None,
                 gradient_clipping_threshold=None, sparse_update=False, update_hooks=None, initializer=None):
        for keyword, value, replacement in (
                ("momentum", momentum, "one momentum for every parameter: paddle.optimizer.Momentum(momentum=...)"),
                ("gradient_clipping_threshold", gradient_clipping_threshold,
                 "paddle.optimizer.Momentum(..., gradient_clipping_threshold=...) for every parameter"),
                ("update_hooks", update_hooks, "paddle.nn.utils / paddle.incubate pruning tools"),
                ("sparse_update", sparse_update or None, "a dense update (sparse updates were removed)")):
            if value is not None:
                raise uncovered(f"paddle.attr.Param({keyword}=...)", replacement)
        self.name = name
        self.is_static = bool(is_static)
        self.l1_rate = l1_rate
        self.l2_rate = l2_rate
        self.learning_rate = 1.0 if learning_rate is None else float(learning_rate)
        self.initializer = initializer  # v2: a callable name -> ndarray, run by paddle.parameters.create
        if initial_std is None and initial_mean is None and initial_max is None and initial_min is None:
            self.init = Init("smart")
        elif initial_std is not None or initial_mean is not None:
            self.init = Init("normal", float(initial_mean or 0.0),
                             _PROTO_DEFAULT_STD if initial_std is None else float(initial_std))
        elif initial_max is not None and initial_min is not None:
            if not initial_min < initial_max:
                raise ValueError(f"paddle.attr.Param: initial_min {initial_min} must be below initial_max {initial_max}")
            self.init = Init("uniform", float(initial_min), float(initial_max))
        else:
            raise ValueError("paddle.attr.Param: give both initial_max and initial_min (a uniform range)")

    def __repr__(self) -> str:
        return f"paddle.attr.Param(name={self.name!r}, init={self.init})"


class Extra:
    """paddle.attr.Extra (= ExtraAttr, ExtraLayerAttribute): drop_rate is covered (v2's dropout)."""

    def __init__(self, error_clipping_threshold=None, drop_rate=None, device=None):
        if error_clipping_threshold is not None:
            raise uncovered("paddle.attr.Extra(error_clipping_threshold=...)",
                            "gradient clipping: paddle.optimizer.Momentum(..., gradient_clipping_threshold=...)")
        if device is not None:
            raise uncovered("paddle.attr.Extra(device=...)", "one device per trainer: paddle.init(use_gpu=..., gpu_id=...)")
        if drop_rate is not None and not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"paddle.attr.Extra: drop_rate must be in [0, 1), got {drop_rate}")
        self.drop_rate = drop_rate or None


ParamAttr = ParameterAttribute = Param
ExtraAttr = ExtraLayerAttribute = Extra

__getattr__ = v2_getattr("attr", {})
