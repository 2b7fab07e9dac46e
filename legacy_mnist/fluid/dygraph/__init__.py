"""`fluid.dygraph`: the names of the dygraph recognize-digits tutorial (guard, to_variable, Linear, ...).

Not run directly; `with fluid.dygraph.guard(): ...` runs its block in dynamic mode and returns the process
to static mode afterwards. The layers are `paddle.nn` layers taking fluid's arguments (`act=` included).
"""
from __future__ import annotations

from .._compat import module_getattr
from . import parallel
from .base import guard, no_grad, to_variable
from .checkpoint import load_dygraph, save_dygraph
from .nn import BatchNorm, Conv2D, Layer, Linear, Pool2D
from .parallel import DataParallel, Env, ParallelStrategy, prepare_context

__all__ = [
    "BatchNorm",
    "Conv2D",
    "DataParallel",
    "Env",
    "Layer",
    "Linear",
    "ParallelStrategy",
    "Pool2D",
    "guard",
    "load_dygraph",
    "no_grad",
    "parallel",
    "prepare_context",
    "save_dygraph",
    "to_variable",
]

__getattr__ = module_getattr(
    "fluid.dygraph",
    {
        "FC": "fluid.dygraph.Linear(input_dim, output_dim, act=...) / paddle.nn.Linear",
        "Embedding": "paddle.nn.Embedding",
        "GRUUnit": "paddle.nn.GRUCell",
        "LayerNorm": "paddle.nn.LayerNorm",
        "Dropout": "paddle.nn.Dropout (fluid's mode was 'downscale_in_infer')",
        "Sequential": "paddle.nn.Sequential",
        "LayerList": "paddle.nn.LayerList",
        "ParameterList": "paddle.nn.ParameterList",
        "declarative": "paddle.jit.to_static",
        "to_static": "paddle.jit.to_static",
        "jit": "paddle.jit",
        "TracedLayer": "paddle.jit.to_static + paddle.jit.save",
        "ProgramTranslator": "paddle.jit.to_static",
        "enabled": "paddle.in_dynamic_mode",
        "learning_rate_scheduler": "paddle.optimizer.lr",
        "NoamDecay": "paddle.optimizer.lr.NoamDecay",
        "PiecewiseDecay": "paddle.optimizer.lr.PiecewiseDecay",
    },
)
