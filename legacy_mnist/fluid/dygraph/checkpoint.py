"""`fluid.dygraph.save_dygraph/load_dygraph`: a layer's or optimizer's state dict on disk.

Not run directly. `save_dygraph(model.state_dict(), "mnist")` writes mnist.pdparams (mnist.pdopt for an
optimizer's state), atomically; `load_dygraph("mnist")` returns (param_dict, optimizer_dict_or_None).
"""
from __future__ import annotations

import io as _io
import os
from pathlib import Path

from ...atomic import atomic_write_bytes
from ...checkpoint import verified_bytes
from ...errors import ModelError
from .._compat import legacy_paddle, warn_once

paddle = legacy_paddle()


def _is_optimizer_state(state_dict) -> bool:
    # Optimizer state dicts hold accumulators and the LR scheduler, never plain parameters only.
    return any(key in state_dict for key in ("LR_Scheduler", "master_weights")) or any(
        "_moment" in key or "_velocity" in key or "_beta" in key for key in state_dict
    )


def save_dygraph(state_dict, model_path):
    """Write `state_dict` to MODEL_PATH.pdparams (or .pdopt for an optimizer's state)."""
    warn_once(
        "fluid.dygraph.save_dygraph",
        "use paddle.save(layer.state_dict(), path + '.pdparams') (and path + '.pdopt' for the optimizer)",
    )
    suffix = ".pdopt" if _is_optimizer_state(state_dict) else ".pdparams"
    buffer = _io.BytesIO()
    paddle.save(state_dict, buffer)
    atomic_write_bytes(model_path + suffix, buffer.getvalue())


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
