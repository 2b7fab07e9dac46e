"""`fluid.dygraph.nn`: Linear, Conv2D, Pool2D, BatchNorm with fluid's argument names and `act=`.

Not run directly; `from legacy_mnist.fluid.dygraph.nn import Conv2D, Pool2D, Linear` works as the dygraph
tutorial wrote. Each is a `paddle.nn.Layer`; the modern classes take in/out_features / in/out_channels /
kernel_size / weight_attr and have no `act=` (apply the activation yourself).
"""
from __future__ import annotations

from .. import layers
from .._compat import legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()
F = paddle.nn.functional

Layer = paddle.nn.Layer
BatchNorm = paddle.nn.BatchNorm  # still exists with fluid's signature (num_channels, act=, ...)


def _activate(out, act):
    return out if act is None else getattr(F, act)(out)


class Linear(paddle.nn.Linear):
    """fluid.dygraph.Linear(input_dim, output_dim, param_attr=None, bias_attr=None, act=None, dtype='float32')."""

    def __init__(self, input_dim, output_dim, param_attr=None, bias_attr=None, act=None, dtype="float32"):
        warn_once(
            "fluid.dygraph.Linear",
            "use paddle.nn.Linear(in_features, out_features, weight_attr=..., bias_attr=...) and apply the "
            "activation yourself (no act=)",
        )
        super().__init__(input_dim, output_dim, weight_attr=param_attr, bias_attr=bias_attr)
        self._act = act

    def forward(self, input):
        return _activate(super().forward(input), self._act)


class Conv2D(paddle.nn.Conv2D):
    """fluid.dygraph.Conv2D(num_channels, num_filters, filter_size, stride, padding, ..., act=None)."""

    def __init__(
        self,
        num_channels,
        num_filters,
        filter_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=None,
        param_attr=None,
        bias_attr=None,
        use_cudnn=True,
        act=None,
        dtype="float32",
    ):
        warn_once(
            "fluid.dygraph.Conv2D",
            "use paddle.nn.Conv2D(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, "
            "weight_attr=..., bias_attr=...) and apply the activation yourself (no act=)",
        )
        super().__init__(
            num_channels,
            num_filters,
            filter_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups or 1,
            weight_attr=param_attr,
            bias_attr=bias_attr,
        )
        self._act = act

    def forward(self, input):
        return _activate(super().forward(input), self._act)


class Pool2D(paddle.nn.Layer):
    """fluid.dygraph.Pool2D(pool_size=-1, pool_type='max', pool_stride=1, pool_padding=0, global_pooling=False)."""

    def __init__(
        self,
        pool_size=-1,
        pool_type="max",
        pool_stride=1,
        pool_padding=0,
        global_pooling=False,
        use_cudnn=True,
        ceil_mode=False,
        exclusive=True,
        data_format="NCHW",
    ):
        warn_once(
            "fluid.dygraph.Pool2D",
            "use paddle.nn.MaxPool2D(kernel_size, stride, padding) / AvgPool2D(...) (AdaptiveAvgPool2D(1) for "
            "global_pooling); the modern stride defaults to kernel_size where fluid's pool_stride defaulted to 1",
        )
        super().__init__()
        self._args = dict(
            pool_size=pool_size,
            pool_type=pool_type,
            pool_stride=pool_stride,
            pool_padding=pool_padding,
            global_pooling=global_pooling,
            ceil_mode=ceil_mode,
            exclusive=exclusive,
            data_format=data_format,
        )

    def forward(self, input):
        return layers._pool2d(input, **self._args)


__getattr__ = module_getattr(
    "fluid.dygraph.nn",
    {
        "FC": "fluid.dygraph.Linear(input_dim, output_dim, act=...) / paddle.nn.Linear",
        "Embedding": "paddle.nn.Embedding",
        "GRUUnit": "paddle.nn.GRUCell",
        "LayerNorm": "paddle.nn.LayerNorm",
        "Dropout": "paddle.nn.Dropout",
    },
)
