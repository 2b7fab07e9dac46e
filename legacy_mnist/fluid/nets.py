"""`fluid.nets`: the composite blocks of the tutorials (conv + pool), rebuilt from the fluid.layers shims.

Not run directly; call `fluid.nets.simple_img_conv_pool(...)` as the book did. Modern Paddle has no
`nets` module: write the conv and the pool yourself (the warning shows how).
"""
from __future__ import annotations

from . import layers
from ._compat import FluidArgumentError, module_getattr, warn_once


def simple_img_conv_pool(
    input,
    num_filters,
    filter_size,
    pool_size,
    pool_stride,
    pool_padding=0,
    pool_type="max",
    global_pooling=False,
    conv_stride=1,
    conv_padding=0,
    conv_dilation=1,
    conv_groups=1,
    param_attr=None,
    bias_attr=None,
    act=None,
    use_cudnn=True,
):
    """conv2d(input, num_filters, filter_size, act) followed by pool2d(pool_size, pool_type, pool_stride)."""
    warn_once(
        "fluid.nets.simple_img_conv_pool",
        "modern Paddle has no fluid.nets; write x = paddle.static.nn.conv2d(input, num_filters, filter_size, "
        "act=act) then paddle.nn.functional.max_pool2d(x, kernel_size=pool_size, stride=pool_stride)",
    )
    conv_out = layers.conv2d(
        input=input,
        num_filters=num_filters,
        filter_size=filter_size,
        stride=conv_stride,
        padding=conv_padding,
        dilation=conv_dilation,
        groups=conv_groups,
        param_attr=param_attr,
        bias_attr=bias_attr,
        act=act,
        use_cudnn=use_cudnn,
    )
    return layers._pool2d(
        conv_out,
        pool_size=pool_size,
        pool_type=pool_type,
        pool_stride=pool_stride,
        pool_padding=pool_padding,
        global_pooling=global_pooling,
    )


def _per_conv(value, count, what):
    """fluid's img_conv_group takes a scalar or one value per conv layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise FluidArgumentError(f"img_conv_group: {what} has {len(value)} entries for {count} conv layers")
        return list(value)
    return [value] * count


def img_conv_group(
    input,
    conv_num_filter,
    pool_size,
    conv_padding=1,
    conv_filter_size=3,
    conv_act=None,
    param_attr=None,
    conv_with_batchnorm=False,
    conv_batchnorm_drop_rate=0.0,
    pool_stride=1,
    pool_type="max",
    use_cudnn=True,
):
    """A VGG block: len(conv_num_filter) convs (each optionally batch-normed and dropped out), then one pool."""
    warn_once(
        "fluid.nets.img_conv_group",
        "modern Paddle has no fluid.nets; write the conv2d (+ batch_norm + dropout) layers and the pool yourself",
    )
    count = len(conv_num_filter)
    paddings = _per_conv(conv_padding, count, "conv_padding")
    sizes = _per_conv(conv_filter_size, count, "conv_filter_size")
    attrs = _per_conv(param_attr, count, "param_attr")
    with_bn = _per_conv(conv_with_batchnorm, count, "conv_with_batchnorm")
    drop_rates = _per_conv(conv_batchnorm_drop_rate, count, "conv_batchnorm_drop_rate")
    tmp = input
    for i in range(count):
        # With batch norm the activation moves after it, as in fluid.
        tmp = layers.conv2d(
            input=tmp,
            num_filters=conv_num_filter[i],
            filter_size=sizes[i],
            padding=paddings[i],
            param_attr=attrs[i],
            act=None if with_bn[i] else conv_act,
            use_cudnn=use_cudnn,
        )
        if with_bn[i]:
            tmp = layers.batch_norm(input=tmp, act=conv_act)
            if abs(drop_rates[i]) > 1e-5:
                tmp = layers.F.dropout(tmp, p=drop_rates[i], mode="downscale_in_infer")
    return layers._pool2d(tmp, pool_size=pool_size, pool_type=pool_type, pool_stride=pool_stride)


__getattr__ = module_getattr(
    "fluid.nets",
    {
        "sequence_conv_pool": "nothing: LoD sequences were removed; pad the batch, use paddle.nn.Conv1D and a "
        "masked reduction",
        "glu": "paddle.nn.functional.glu",
        "scaled_dot_product_attention": "paddle.nn.functional.scaled_dot_product_attention",
    },
)
