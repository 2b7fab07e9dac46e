"""`fluid.dygraph.parallel`: Env, prepare_context, DataParallel, ParallelStrategy, as fluid 1.8 had them.

Not run directly. In one process (no PADDLE_TRAINERS_NUM, or 1) this is what fluid 1.8 did there:
`prepare_context()` returns None, `DataParallel(layer)` runs `layer` unchanged, `scale_loss` returns the
loss and `apply_collective_grads` does nothing - so the models repository's `--use_data_parallel` scripts run
on one device. Started by `python -m paddle.distributed.launch` (two or more ranks), the context is
paddle.distributed.init_parallel_env() and DataParallel is paddle.DataParallel, which averages the gradients
during backward (so scale_loss is the identity and apply_collective_grads has nothing left to do).
"""
from __future__ import annotations

import os

from .._compat import legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()


class Env:
    """The launcher's environment: nranks, local_rank, dev_id, current_endpoint, trainer_endpoints."""

    def __init__(self):
        self._nranks = int(os.getenv("PADDLE_TRAINERS_NUM", "1"))
        self._local_rank = int(os.getenv("PADDLE_TRAINER_ID", "0"))
        self._dev_id = int(os.getenv("FLAGS_selected_gpus", "0").split(",")[0] or 0)
        self._trainer_endpoints = [e for e in os.getenv("PADDLE_TRAINER_ENDPOINTS", "").split(",") if e]
        self._current_endpoint = os.getenv("PADDLE_CURRENT_ENDPOINT", "")

    nranks = property(lambda self: self._nranks)
    local_rank = property(lambda self: self._local_rank)
    dev_id = property(lambda self: self._dev_id)
    current_endpoint = property(lambda self: self._current_endpoint)
    trainer_endpoints = property(lambda self: self._trainer_endpoints)


class ParallelStrategy:
    """fluid's core.ParallelStrategy: the fields prepare_context fills from Env."""

    def __init__(self):
        self.nranks = 1
        self.local_rank = 0
        self.trainer_endpoints = []
        self.current_endpoint = ""


def prepare_context(strategy=None):
    """Set up data-parallel training; None in a single process, as in fluid 1.8."""
    warn_once("fluid.dygraph.parallel.prepare_context", "use paddle.distributed.init_parallel_env()")
    if strategy is None:
        env = Env()
        strategy = ParallelStrategy()
        strategy.nranks, strategy.local_rank = env.nranks, env.local_rank
        strategy.trainer_endpoints, strategy.current_endpoint = env.trainer_endpoints, env.current_endpoint
    if strategy.nranks < 2:
        return None
    paddle.distributed.init_parallel_env()
    return strategy


class DataParallel(paddle.nn.Layer):
    """DataParallel(layers, strategy=None): `layers` itself in one process, paddle.DataParallel across ranks."""

    def __init__(self, layers, strategy=None):
        warn_once("fluid.dygraph.parallel.DataParallel",
                  "use paddle.DataParallel(layer) (it averages gradients in backward: no scale_loss / "
                  "apply_collective_grads)")
        super().__init__(layers.full_name() + "_data_parallel")
        self._strategy = strategy
        self._nranks = strategy.nranks if strategy is not None else 1
        self._layers = paddle.DataParallel(layers) if self._nranks > 1 else layers

    def forward(self, *inputs, **kwargs):
        return self._layers(*inputs, **kwargs)

    def scale_loss(self, loss):
        """fluid divided the loss by nranks before summing gradients; paddle.DataParallel averages them."""
        return loss

    def apply_collective_grads(self):
        """fluid all-reduced the gradients here; paddle.DataParallel already did during backward."""

    def state_dict(self, *args, **kwargs):
        inner = self._layers._layers if self._nranks > 1 else self._layers
        return inner.state_dict(*args, **kwargs)

    def set_dict(self, *args, **kwargs):
        inner = self._layers._layers if self._nranks > 1 else self._layers
        return inner.set_dict(*args, **kwargs)

    load_dict = set_dict


__getattr__ = module_getattr("fluid.dygraph.parallel", {"ParallelEnv": "paddle.distributed.ParallelEnv"})
