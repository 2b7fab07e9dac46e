"""`fluid.layers.io`: fluid.layers.data, the feed variable that prepends a batch dimension.

Not run directly; `fluid.layers.data(name='img', shape=[1, 28, 28])` works as in the book (also as
`from legacy_mnist.fluid.layers.io import data`). The readers of fluid 1.x's layers.io (py_reader,
double_buffer, read_file) were removed: their hints name paddle.io.DataLoader / fluid.io.DataLoader.
"""
from __future__ import annotations

from .._compat import legacy_paddle, module_getattr, warn_once
from ._hints import REPLACEMENTS
from .nn import _static_only

paddle = legacy_paddle()


def data(name, shape, append_batch_size=True, dtype="float32", lod_level=0, type=None, stop_gradient=True):
    """fluid.layers.data: a feed variable; prepends a batch dimension (-1) unless told not to.

    As in fluid, any None or negative entry in `shape` switches `append_batch_size` off, and the fed data's
    shape is not checked against `shape` (fluid.data, by contrast, checks it).
    """
    _static_only("data")
    warn_once(
        "fluid.layers.data",
        "paddle.static.data does not prepend a batch dimension; write it out: "
        "paddle.static.data(name, shape=[None] + shape, dtype=dtype)",
    )
    shape = list(shape)
    for i, dim in enumerate(shape):
        if dim is None:
            shape[i] = -1
            append_batch_size = False
        elif dim < 0:
            append_batch_size = False
    if append_batch_size:
        shape = [-1] + shape
    var = paddle.static.data(name=name, shape=shape, dtype=dtype, lod_level=lod_level)
    var.desc.set_need_check_feed(False)
    var.stop_gradient = stop_gradient
    return var


__getattr__ = module_getattr("fluid.layers.io", REPLACEMENTS)
