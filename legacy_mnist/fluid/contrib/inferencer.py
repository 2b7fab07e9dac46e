"""`fluid.contrib.inferencer`: fluid 1.0's Inferencer, the Trainer's partner for prediction.

Not run directly; `Inferencer(infer_func=inference_program, param_path=params_dirname, place=place)` then
`inferencer.infer({'img': images})` works as the book's 2018 script wrote it. As in fluid 1.0,
`infer_func()` rebuilds the network under a fresh unique-name scope (so its parameter names are the
Trainer's), the parameters are read from `param_path` (what Trainer.save_params wrote) into the
Inferencer's own Scope, and `infer` returns the list of fetched arrays.
"""
from __future__ import annotations

import contextlib

from .._compat import FluidArgumentError, legacy_paddle, warn_once
from .trainer import check_and_get_place

paddle = legacy_paddle()

__all__ = ["Inferencer"]


class Inferencer:
    """Inferencer(infer_func, param_path, place=None, parallel=False)."""

    def __init__(self, infer_func, param_path, place=None, parallel=False):
        warn_once("fluid.contrib.inferencer.Inferencer",
                  "use paddle.static.load_inference_model + Executor.run (or paddle.inference), or legacy_mnist.infer")
        from .. import io
        from ..executor import Executor

        self.param_path = param_path
        self.scope = paddle.static.Scope()
        self.parallel = parallel
        self.place = check_and_get_place(place)
        self.inference_program = paddle.static.Program()
        startup = paddle.static.Program()
        with paddle.static.program_guard(self.inference_program, startup), paddle.utils.unique_name.guard():
            self.predict_var = infer_func()
        self.exe = Executor(self.place)
        with self._prog_and_scope_guard():
            io.load_params(self.exe, param_path, main_program=self.inference_program)
        self.inference_program = self.inference_program.clone(for_test=True)

    @contextlib.contextmanager
    def _prog_and_scope_guard(self):
        with paddle.static.program_guard(self.inference_program), paddle.static.scope_guard(self.scope):
            yield

    def infer(self, inputs, return_numpy=True):
        """`inputs` maps each data layer's name to its array; returns [prediction array]."""
        if not isinstance(inputs, dict):
            raise FluidArgumentError("Inferencer.infer: inputs should be a map of {'input_name': input_var}")
        with self._prog_and_scope_guard():
            return self.exe.run(self.inference_program, feed=inputs, fetch_list=[self.predict_var.name],
                                return_numpy=return_numpy)
