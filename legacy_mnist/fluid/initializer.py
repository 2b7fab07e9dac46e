"""`fluid.initializer`: the fluid initializer names, returning `paddle.nn.initializer` objects.

Not run directly; `fluid.ParamAttr(initializer=fluid.initializer.Normal(loc=0.0, scale=0.01))` works.
fluid's loc/scale are mean/std now; Xavier/MSRA split into *Uniform/*Normal classes.
"""
from __future__ import annotations

from ._compat import legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()
init = paddle.nn.initializer


def Constant(value=0.0, force_cpu=False):
    """fluid.initializer.Constant(value): same as paddle.nn.initializer.Constant(value)."""
    return init.Constant(value=value)


def Uniform(low=-1.0, high=1.0, seed=0):
    """fluid.initializer.Uniform(low, high): paddle.nn.initializer.Uniform(low, high); `seed` is ignored."""
    return init.Uniform(low=low, high=high)


def Normal(loc=0.0, scale=1.0, seed=0):
    """fluid.initializer.Normal(loc, scale): paddle.nn.initializer.Normal(mean=loc, std=scale)."""
    warn_once("fluid.initializer.Normal", "use paddle.nn.initializer.Normal(mean=loc, std=scale)")
    return init.Normal(mean=loc, std=scale)


def TruncatedNormal(loc=0.0, scale=1.0, seed=0):
    """fluid.initializer.TruncatedNormal(loc, scale): paddle.nn.initializer.TruncatedNormal(mean, std)."""
    warn_once("fluid.initializer.TruncatedNormal", "use paddle.nn.initializer.TruncatedNormal(mean=loc, std=scale)")
    return init.TruncatedNormal(mean=loc, std=scale)


def Xavier(uniform=True, fan_in=None, fan_out=None, seed=0):
    """fluid.initializer.Xavier: XavierUniform (uniform=True) or XavierNormal."""
    warn_once(
        "fluid.initializer.Xavier",
        "use paddle.nn.initializer.XavierUniform(fan_in, fan_out) or XavierNormal(...) (uniform=False)",
    )
    cls = init.XavierUniform if uniform else init.XavierNormal
    return cls(fan_in=fan_in, fan_out=fan_out)


def MSRA(uniform=True, fan_in=None, seed=0):
    """fluid.initializer.MSRA: KaimingUniform (uniform=True) or KaimingNormal."""
    warn_once(
        "fluid.initializer.MSRA",
        "use paddle.nn.initializer.KaimingUniform(fan_in) or KaimingNormal(fan_in) (uniform=False)",
    )
    cls = init.KaimingUniform if uniform else init.KaimingNormal
    return cls(fan_in=fan_in)


# fluid exported every initializer under a second, *Initializer, name.
ConstantInitializer = Constant
UniformInitializer = Uniform
NormalInitializer = Normal
TruncatedNormalInitializer = TruncatedNormal
XavierInitializer = Xavier
MSRAInitializer = MSRA

__getattr__ = module_getattr(
    "fluid.initializer",
    {
        "Bilinear": "paddle.nn.initializer.Bilinear",
        "BilinearInitializer": "paddle.nn.initializer.Bilinear",
        "NumpyArrayInitializer": "paddle.nn.initializer.Assign",
        "init_on_cpu": "nothing (removed); initializers run where the parameter lives",
    },
)
