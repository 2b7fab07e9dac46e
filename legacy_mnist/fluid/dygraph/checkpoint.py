"""`fluid.dygraph.save_dygraph/load_dygraph`: a layer's or optimizer's state dict on disk.

Not run directly. `save_dygraph(model.state_dict(), "mnist")` writes mnist.pdparams (mnist.pdopt for an
optimizer's state), atomically; `load_dygraph("mnist")` returns (param_dict, optimizer_dict_or_None).
The files are fluid 1.8's own format - a protocol-2 pickle of {name: numpy array} plus its
"StructuredToParameterName@@" table, arrays under numpy 1.x's class path - so Paddle 1.8.5's load_dygraph
reads ours, and paddle.load (any 2.x/3.x) reads them too; 1.8.5's files load here.
"""
from __future__ import annotations

import io as _io
import os
import pickle
from pathlib import Path

import numpy as np

from ...common.atomic import atomic_write_bytes
from ...training.checkpoint import verified_bytes
from ...errors import ModelError
from .._compat import FluidArgumentError, legacy_paddle, warn_once

paddle = legacy_paddle()


_NAME_TABLE = "StructuredToParameterName@@"  # fluid 1.8: structured key -> parameter name


class _Fluid18Pickler(pickle._Pickler):  # the Python pickler: its save_global can be overridden
    """Protocol 2 with numpy 2's `numpy._core.*` globals written as `numpy.core.*`, which numpy 1.x (Paddle
    1.8.5's) imports and numpy 2 still resolves."""

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        if module.startswith("numpy._core"):
            qualified = "numpy.core" + module[len("numpy._core"):]
            self.write(pickle.GLOBAL + f"{qualified}\n{name or obj.__name__}\n".encode("ascii"))
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _plain(value):
    if isinstance(value, paddle.Tensor):
        return np.asarray(value.numpy())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def fluid18_bytes(state_dict) -> tuple[bytes, str]:
    """The bytes fluid 1.8's save_dygraph wrote for `state_dict`, and the suffix it chose (.pdparams when
    any value is a parameter, else .pdopt)."""
    if not state_dict:
        raise FluidArgumentError("save_dygraph: state_dict is empty")
    is_params = any(isinstance(value, paddle.base.framework.EagerParamBase) for value in state_dict.values())
    model_dict = {key: _plain(value) for key, value in state_dict.items()}
    model_dict[_NAME_TABLE] = {key: value.name for key, value in state_dict.items()
                               if isinstance(value, paddle.Tensor)}
    buffer = _io.BytesIO()
    _Fluid18Pickler(buffer, protocol=2).dump(model_dict)
    return buffer.getvalue(), ".pdparams" if is_params else ".pdopt"


def save_dygraph(state_dict, model_path):
    """Write `state_dict` to MODEL_PATH.pdparams (or .pdopt for an optimizer's state), fluid 1.8's format."""
    warn_once(
        "fluid.dygraph.save_dygraph",
        "use paddle.save(layer.state_dict(), path + '.pdparams') (and path + '.pdopt' for the optimizer)",
    )
    data, suffix = fluid18_bytes(state_dict)
    atomic_write_bytes(model_path + suffix, data)


def load_dygraph(model_path):
    """Return (param_dict, optimizer_dict) from MODEL_PATH.pdparams / .pdopt; a missing .pdopt gives None."""
    warn_once("fluid.dygraph.load_dygraph", "use paddle.load(path + '.pdparams') (and path + '.pdopt')")
    params_path, opt_path = model_path + ".pdparams", model_path + ".pdopt"
    if not os.path.exists(params_path) and not os.path.exists(opt_path):
        raise ModelError(f"load_dygraph: neither {params_path} nor {opt_path} exists")
    # paddle.load would unpickle anything, running a crafted file's code: each file is read once, checked with
    # the numpy-only unpickler, and those same bytes (never the path, which could be swapped) go to paddle.load.
    params_bytes, opt_bytes = verified_bytes(Path(params_path)), verified_bytes(Path(opt_path))
    params = paddle.load(_io.BytesIO(params_bytes)) if params_bytes is not None else None
    opt = paddle.load(_io.BytesIO(opt_bytes)) if opt_bytes is not None else None
    return params, opt
