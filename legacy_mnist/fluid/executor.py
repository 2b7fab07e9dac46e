"""`fluid.Executor`: paddle.static.Executor, plus fluid's feed-less run of a non-iterable DataLoader.

Not run directly; `exe = fluid.Executor(fluid.CPUPlace()); exe.run(fluid.default_startup_program())` works
as in the book. The one addition: `exe.run(program)` without a feed, for a program whose
`fluid.io.DataLoader.from_generator(..., iterable=False)` was started, reads that loader's next batch
(fluid did it with a `read` op in the program), raising fluid.core.EOFException at the end of the pass.
And a fetched one-element array (fluid's mean/accuracy have shape [1], as here) still converts with
float()/int()/"%f", as under the numpy fluid ran on (numpy 2.4 refuses it for arrays of ndim > 0).
Programs run through an execution copy with faster kernels (the same function; the user's Program is left
as built): see execution.py.
"""
from __future__ import annotations

import numpy as np

from ._compat import legacy_paddle
from .execution import ExecutionCopies, configure_runtime_once
from .reader import feed_from_loaders

paddle = legacy_paddle()


class FetchedArray(np.ndarray):
    """A fetched one-element array that converts to a Python number, as numpy < 1.25 allowed."""

    def __float__(self):
        return float(np.asarray(self).reshape(-1)[0])

    def __int__(self):
        return int(np.asarray(self).reshape(-1)[0])


def _convertible(value):
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim > 0 and type(value) is np.ndarray:
        return value.view(FetchedArray)
    return value


class Executor(paddle.static.Executor):
    """fluid.Executor(place): runs Programs; see the module docstring for the DataLoader addition."""

    def __init__(self, place=None):
        configure_runtime_once()
        super().__init__(place)
        self._execution_copies = ExecutionCopies()

    def run(self, program=None, feed=None, fetch_list=None, feed_var_name="feed", fetch_var_name="fetch",
            scope=None, return_numpy=True, use_program_cache=False, use_prune=False):
        target = paddle.static.default_main_program() if program is None else program
        feed = feed_from_loaders(getattr(target, "_program", target), feed)
        results = super().run(self._execution_copies.for_program(target), feed, fetch_list, feed_var_name,
                              fetch_var_name, scope, return_numpy, use_program_cache, use_prune)
        return [_convertible(value) for value in results] if isinstance(results, list) else results
