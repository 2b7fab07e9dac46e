"""`fluid.nets`: the composite blocks of the tutorials (conv + pool), rebuilt from the fluid.layers shims.

Not run directly; call `fluid.nets.simple_img_conv_pool(...)` as the book did. Modern Paddle has no
`nets` module: write the conv and the pool yourself (the warning shows how).
"""
from __future__ import annotations

import functools

from . import layers
from ._compat import FluidArgumentError, module_getattr, warn_once
from .execution import as_written


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
    reorder = pool_type == "max" and not global_pooling and act in _COMMUTES_WITH_MAX and not as_written()
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
        act=None if reorder else act,
        use_cudnn=use_cudnn,
    )
    pool = functools.partial(layers._pool2d, pool_size=pool_size, pool_type=pool_type, pool_stride=pool_stride,
                             pool_padding=pool_padding, global_pooling=global_pooling)
    if not reorder:
        return pool(conv_out)
    return _pool_then_bias_and_act(conv_out, pool, act, use_cudnn)


# Elementwise functions f with max(f(x), f(y)) = f(max(x, y)): they commute with a max pool.
_COMMUTES_WITH_MAX = (None, "relu", "tanh", "sigmoid")


def _pool_then_bias_and_act(conv_out, pool, act, use_cudnn):
    """The conv's bias add (if any) and `act` moved after the max pool: the same function, 4x fewer elements.

    fluid computed pool(act(conv + b)); max(x + b) = max(x) + b for a per-channel b (exactly, in floating
    point too: rounding is monotonic) and max pooling commutes with monotonic activations, so
    act(pool(conv) + b) is the same output, with the same parameters and names, while the bias add, the
    activation and their gradients run on a 2x2 pool's 4x smaller tensor (our trainer's conv_pool,
    measured in docs/benchmarks.md). Only the pool's output is the block's: the intermediates, which fluid
    never returned, hold other values.
    """
    from paddle.base.layer_helper import LayerHelper

    block = conv_out.block
    last = block.ops[-1]
    if last.type == "elementwise_add" and last.output("Out")[0] == conv_out.name:
        raw, bias, axis = last.input("X")[0], last.input("Y")[0], last.attr("axis")
        block._remove_op(len(block.ops) - 1)
        block._remove_var(conv_out.name)
        pooled = pool(block.var(raw))
        helper = LayerHelper("conv2d", name=raw.rsplit(".tmp_", 1)[0], act=act, use_cudnn=use_cudnn)
        biased = helper.create_variable_for_type_inference(dtype=pooled.dtype)
        helper.append_op(type="elementwise_add", inputs={"X": [pooled], "Y": [block.var(bias)]},
                         outputs={"Out": [biased]}, attrs={"axis": axis})
    else:  # bias_attr=False: only the activation moves
        helper = LayerHelper("conv2d", name=conv_out.name.rsplit(".tmp_", 1)[0], act=act, use_cudnn=use_cudnn)
        biased = pool(conv_out)
    return helper.append_activation(biased)


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
