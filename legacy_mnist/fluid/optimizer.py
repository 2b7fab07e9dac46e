"""`fluid.optimizer`: Adam, SGD and Momentum with fluid's keywords, as subclasses of `paddle.optimizer`.

Not run directly; `fluid.optimizer.Adam(learning_rate=0.001).minimize(avg_loss)` works as in the book.
fluid's `regularization=` and `parameter_list=` are today's `weight_decay=` and `parameters=`; the
`AdamOptimizer`/`SGDOptimizer`/`MomentumOptimizer` spellings are the same classes under their old names.
"""
from __future__ import annotations

from ._compat import FluidArgumentError, legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()

_UNSET = object()


def _translate(cls_name: str, regularization, parameter_list, weight_decay, parameters) -> dict:
    """Map fluid's keywords onto the modern ones, refusing a call that gives both spellings."""
    if regularization is not None:
        if weight_decay is not None:
            raise FluidArgumentError(f"{cls_name}: give regularization= or weight_decay=, not both")
        warn_once(
            "fluid.optimizer regularization=",
            f"the keyword is weight_decay= now: paddle.optimizer.{cls_name}(..., weight_decay=...)",
        )
        weight_decay = regularization
    if parameter_list is not None:
        if parameters is not None:
            raise FluidArgumentError(f"{cls_name}: give parameter_list= or parameters=, not both")
        warn_once(
            "fluid.optimizer parameter_list=",
            f"the keyword is parameters= now: paddle.optimizer.{cls_name}(..., parameters=...)",
        )
        parameters = parameter_list
    return {"weight_decay": weight_decay, "parameters": parameters}


class _FluidMinimize:
    """fluid's `minimize(loss, startup_program, parameter_list, no_grad_set)` keywords."""

    def minimize(self, loss, startup_program=None, parameter_list=None, no_grad_set=None, parameters=None):
        if parameter_list is not None and parameters is not None:
            raise FluidArgumentError("minimize: give parameter_list= or parameters=, not both")
        return super().minimize(
            loss,
            startup_program=startup_program,
            parameters=parameter_list if parameters is None else parameters,
            no_grad_set=no_grad_set,
        )


class Adam(_FluidMinimize, paddle.optimizer.Adam):
    """fluid.optimizer.Adam(learning_rate=0.001, beta1, beta2, epsilon, parameter_list, regularization, ...)."""

    def __init__(
        self,
        learning_rate=0.001,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        parameter_list=None,
        regularization=None,
        grad_clip=None,
        name=None,
        lazy_mode=False,
        *,
        parameters=None,
        weight_decay=None,
        **modern,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta1=beta1,
            beta2=beta2,
            epsilon=epsilon,
            grad_clip=grad_clip,
            name=name,
            lazy_mode=lazy_mode,
            **_translate("Adam", regularization, parameter_list, weight_decay, parameters),
            **modern,
        )


class SGD(_FluidMinimize, paddle.optimizer.SGD):
    """fluid.optimizer.SGD(learning_rate, parameter_list=None, regularization=None, grad_clip=None, name=None)."""

    def __init__(
        self,
        learning_rate,
        parameter_list=None,
        regularization=None,
        grad_clip=None,
        name=None,
        *,
        parameters=None,
        weight_decay=None,
        **modern,
    ):
        super().__init__(
            learning_rate=learning_rate,
            grad_clip=grad_clip,
            name=name,
            **_translate("SGD", regularization, parameter_list, weight_decay, parameters),
            **modern,
        )


class Momentum(_FluidMinimize, paddle.optimizer.Momentum):
    """fluid.optimizer.Momentum(learning_rate, momentum, parameter_list, use_nesterov, regularization, ...)."""

    def __init__(
        self,
        learning_rate,
        momentum,
        parameter_list=None,
        use_nesterov=False,
        regularization=None,
        grad_clip=None,
        name=None,
        *,
        parameters=None,
        weight_decay=None,
        **modern,
    ):
        super().__init__(
            learning_rate=learning_rate,
            momentum=momentum,
            use_nesterov=use_nesterov,
            grad_clip=grad_clip,
            name=name,
            **_translate("Momentum", regularization, parameter_list, weight_decay, parameters),
            **modern,
        )


def _old_spelling(modern_cls):
    """The fluid `XOptimizer` name: the same class, warning once that the modern name drops the suffix."""
    old_name = f"{modern_cls.__name__}Optimizer"

    def __init__(self, *args, **kwargs):
        warn_once(
            f"fluid.optimizer.{old_name}",
            f"the class is paddle.optimizer.{modern_cls.__name__} now (fluid.optimizer.{modern_cls.__name__} here)",
        )
        modern_cls.__init__(self, *args, **kwargs)

    return type(old_name, (modern_cls,), {"__init__": __init__, "__doc__": f"fluid's spelling of {modern_cls.__name__}."})


AdamOptimizer = _old_spelling(Adam)
SGDOptimizer = _old_spelling(SGD)
MomentumOptimizer = _old_spelling(Momentum)

__getattr__ = module_getattr(
    "fluid.optimizer",
    {
        "Adagrad": "paddle.optimizer.Adagrad",
        "AdagradOptimizer": "paddle.optimizer.Adagrad",
        "RMSProp": "paddle.optimizer.RMSProp",
        "RMSPropOptimizer": "paddle.optimizer.RMSProp",
        "Adamax": "paddle.optimizer.Adamax",
        "AdamaxOptimizer": "paddle.optimizer.Adamax",
        "Adadelta": "paddle.optimizer.Adadelta",
        "AdadeltaOptimizer": "paddle.optimizer.Adadelta",
        "Lamb": "paddle.optimizer.Lamb",
        "LambOptimizer": "paddle.optimizer.Lamb",
        "LarsMomentum": "paddle.incubate.optimizer.LarsMomentumOptimizer",
        "LarsMomentumOptimizer": "paddle.incubate.optimizer.LarsMomentumOptimizer",
        "DecayedAdagrad": "paddle.optimizer.Adagrad",
        "Ftrl": "paddle.optimizer.Adam (Ftrl was removed)",
        "ModelAverage": "paddle.incubate.ModelAverage",
        "ExponentialMovingAverage": "paddle.static.ExponentialMovingAverage",
        "PipelineOptimizer": "paddle.distributed.fleet",
        "RecomputeOptimizer": "paddle.distributed.fleet (recompute strategy)",
        "LookaheadOptimizer": "paddle.incubate.optimizer.LookAhead",
    },
)
