"""`fluid.layers.nn`: the network layers of the recognize-digits tutorials, on `paddle.static` (legacy IR).

Not run directly; use `import legacy_mnist.fluid as fluid` and call `fluid.layers.fc(...)` as the book did
(or `from legacy_mnist.fluid.layers.nn import fc`, where fluid 1.8 defined it).
Each function keeps fluid's signature and semantics; where the modern call differs in a way that changes a
port (renamed keywords, other defaults, another output shape) it warns once with the modern spelling.
"""
from __future__ import annotations

from .._compat import FluidArgumentError, legacy_paddle, module_getattr, paddle_deprecations_hidden, warn_once
from ._hints import REPLACEMENTS

paddle = legacy_paddle()
F = paddle.nn.functional


def _static_only(name: str) -> None:
    if paddle.in_dynamic_mode():
        raise FluidArgumentError(
            f"fluid.layers.{name} builds a static graph and cannot run inside fluid.dygraph.guard(); "
            "use the fluid.dygraph layers (paddle.nn) there"
        )




def fc(input, size, num_flatten_dims=1, param_attr=None, bias_attr=None, act=None, is_test=False, name=None):
    """fluid.layers.fc: y = act(flatten(input) @ W + b); `input` may be a list (their projections are summed)."""
    _static_only("fc")
    warn_once(
        "fluid.layers.fc",
        "use paddle.static.nn.fc(x, size, num_flatten_dims, weight_attr=..., bias_attr=..., activation=...): "
        "input/param_attr/act were renamed x/weight_attr/activation",
    )
    with paddle_deprecations_hidden():
        return paddle.static.nn.fc(
            x=input,
            size=size,
            num_flatten_dims=num_flatten_dims,
            weight_attr=param_attr,
            bias_attr=bias_attr,
            activation=act,
            name=name,
        )




def mean(x, name=None):
    """fluid.layers.mean: the mean of all elements, shape [1] as in fluid (paddle.mean's is 0-D)."""
    warn_once(
        "fluid.layers.mean",
        "use paddle.mean(x); it returns a 0-D tensor where fluid's (and this one) had shape [1], so a fetched "
        "value is a 0-d array there: read it with float(v) or v.item(), not v[0]",
    )
    # fluid's mean op wrote shape [1]; keep it, so a dygraph `loss.numpy()` prints `[0.3]` as it did
    return paddle.reshape(paddle.mean(x, name=name), [1])




def batch_norm(
    input,
    act=None,
    is_test=False,
    momentum=0.9,
    epsilon=1e-05,
    param_attr=None,
    bias_attr=None,
    data_layout="NCHW",
    in_place=False,
    name=None,
    moving_mean_name=None,
    moving_variance_name=None,
    do_model_average_for_mean_and_var=True,
    use_global_stats=False,
):
    """fluid.layers.batch_norm: same signature and behaviour as paddle.static.nn.batch_norm (legacy IR)."""
    _static_only("batch_norm")
    with paddle_deprecations_hidden():
        return paddle.static.nn.batch_norm(
            input,
            act=act,
            is_test=is_test,
            momentum=momentum,
            epsilon=epsilon,
            param_attr=param_attr,
            bias_attr=bias_attr,
            data_layout=data_layout,
            in_place=in_place,
            name=name,
            moving_mean_name=moving_mean_name,
            moving_variance_name=moving_variance_name,
            do_model_average_for_mean_and_var=do_model_average_for_mean_and_var,
            use_global_stats=use_global_stats,
        )


def conv2d(
    input,
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
    name=None,
    data_format="NCHW",
):
    """fluid.layers.conv2d: same signature and behaviour as paddle.static.nn.conv2d (legacy IR only)."""
    _static_only("conv2d")
    with paddle_deprecations_hidden():
        return paddle.static.nn.conv2d(
            input,
            num_filters,
            filter_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            param_attr=param_attr,
            bias_attr=bias_attr,
            use_cudnn=use_cudnn,
            act=act,
            name=name,
            data_format=data_format,
        )


def _pool2d(
    input,
    pool_size=-1,
    pool_type="max",
    pool_stride=1,
    pool_padding=0,
    global_pooling=False,
    ceil_mode=False,
    exclusive=True,
    data_format="NCHW",
    name=None,
):
    if pool_type not in ("max", "avg"):
        raise FluidArgumentError(f"pool2d: pool_type must be 'max' or 'avg', got {pool_type!r}")
    if global_pooling:  # adaptive_max_pool2d takes no data_format (NCHW only)
        if pool_type == "max":
            return F.adaptive_max_pool2d(input, output_size=1, name=name)
        return F.adaptive_avg_pool2d(input, output_size=1, data_format=data_format, name=name)
    if pool_size == -1 or pool_size is None:
        raise FluidArgumentError("pool2d: pool_size must be set unless global_pooling=True")
    if pool_type == "max":
        return F.max_pool2d(
            input,
            kernel_size=pool_size,
            stride=pool_stride,
            padding=pool_padding,
            ceil_mode=ceil_mode,
            data_format=data_format,
            name=name,
        )
    return F.avg_pool2d(
        input,
        kernel_size=pool_size,
        stride=pool_stride,
        padding=pool_padding,
        ceil_mode=ceil_mode,
        exclusive=exclusive,
        data_format=data_format,
        name=name,
    )


def pool2d(
    input,
    pool_size=-1,
    pool_type="max",
    pool_stride=1,
    pool_padding=0,
    global_pooling=False,
    use_cudnn=True,
    ceil_mode=False,
    name=None,
    exclusive=True,
    data_format="NCHW",
):
    """fluid.layers.pool2d: max or average pooling; `global_pooling=True` pools each map to 1x1."""
    warn_once(
        "fluid.layers.pool2d",
        "use paddle.nn.functional.max_pool2d(x, kernel_size, stride, padding) or avg_pool2d(...) "
        "(adaptive_max_pool2d/adaptive_avg_pool2d(x, 1) for global_pooling); the modern stride defaults "
        "to kernel_size where fluid's pool_stride defaulted to 1",
    )
    return _pool2d(
        input, pool_size, pool_type, pool_stride, pool_padding, global_pooling, ceil_mode, exclusive,
        data_format, name,
    )


def dropout(x, dropout_prob, is_test=False, seed=None, name=None, dropout_implementation="downgrade_in_infer"):
    """fluid.layers.dropout: by default scales at inference time (x * (1 - p)), not at training time.

    `seed` is accepted and ignored (set `Program.random_seed` for reproducible masks).
    """
    warn_once(
        "fluid.layers.dropout",
        "use paddle.nn.functional.dropout(x, p, training=not is_test, mode='downscale_in_infer'); the modern "
        "default mode is 'upscale_in_train', fluid's was 'downgrade_in_infer'",
    )
    if dropout_implementation not in ("downgrade_in_infer", "upscale_in_train"):
        raise FluidArgumentError(
            "dropout: dropout_implementation must be 'downgrade_in_infer' or 'upscale_in_train', "
            f"got {dropout_implementation!r}"
        )
    mode = "downscale_in_infer" if dropout_implementation == "downgrade_in_infer" else "upscale_in_train"
    return F.dropout(x, p=dropout_prob, training=not is_test, mode=mode, name=name)


def reshape(x, shape, actual_shape=None, act=None, inplace=False, name=None):
    """fluid.layers.reshape (the dygraph tutorials flatten with it): paddle.reshape, then `act`."""
    if actual_shape is not None:
        raise FluidArgumentError("reshape: actual_shape is not supported; pass the shape itself")
    out = paddle.reshape(x, shape, name=name)
    if act is not None:
        warn_once("fluid.layers.reshape(act=)", f"apply the activation yourself: paddle.nn.functional.{act}(...)")
        out = getattr(F, act)(out)
    return out


def relu(x, name=None):
    """fluid.layers.relu: max(x, 0)."""
    return F.relu(x, name=name)


def softmax(input, use_cudnn=False, name=None, axis=-1):
    """fluid.layers.softmax: softmax over `axis` (default the last)."""
    return F.softmax(input, axis=axis, name=name)


def log(x, name=None):
    """fluid.layers.log: the natural logarithm."""
    return paddle.log(x, name=name)


__getattr__ = module_getattr("fluid.layers.nn", REPLACEMENTS)
