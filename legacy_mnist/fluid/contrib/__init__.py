"""`fluid.contrib`: fluid 1.0-1.5's high-level API (`contrib.trainer`, `contrib.inferencer`).

Not run directly; `from legacy_mnist.fluid.contrib.trainer import *` works as the book's 2018 scripts wrote
it. The rest of fluid.contrib (slim, mixed_precision, decoder, ...) gives NotCoveredError / the module hint.
"""
from __future__ import annotations

from .._compat import module_getattr
from . import inferencer, trainer

__getattr__ = module_getattr("fluid.contrib", {
    "mixed_precision": "paddle.amp",
    "slim": "PaddleSlim (the paddleslim package)",
    "reader": "paddle.io.DataLoader (distributed_batch_reader: paddle.io.DistributedBatchSampler)",
    "layers": "the paddle API (paddle.nn, paddle.static.nn)",
    "decoder": "paddle.nn.BeamSearchDecoder",
    "memory_usage": "nothing (removed)",
    "op_freq_statistic": "nothing (removed)",
    "model_stat": "paddle.flops",
})
