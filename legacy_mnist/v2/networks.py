"""`paddle.networks`: v2's composite image blocks, made of paddle.layer calls exactly as v2 made them.

Not run directly; `paddle.networks.simple_img_conv_pool(input=img, filter_size=5, num_filters=20,
num_channel=1, pool_size=2, pool_stride=2, act=paddle.activation.Relu())` is img_conv named
`<name>_conv` then img_pool named `<name>_pool` (trainer_config_helpers/networks.py), so its parameters
are v2's `___conv_pool_0___conv.w0` and `.wbias`.
"""
from __future__ import annotations

from . import activation, layer
from ._names import default_name, v2_getattr
from .attr import Extra


def simple_img_conv_pool(input, filter_size, num_filters, pool_size, name=None, pool_type=None, act=None, groups=1,
                         conv_stride=1, conv_padding=0, bias_attr=None, num_channel=None, param_attr=None,
                         shared_bias=True, conv_layer_attr=None, pool_stride=1, pool_padding=0,
                         pool_layer_attr=None):
    """img_conv (act, default Relu) followed by img_pool (default Max)."""
    name = default_name("conv_pool", name)
    conv = layer.img_conv(name=f"{name}_conv", input=input, filter_size=filter_size, num_filters=num_filters,
                          num_channels=num_channel, act=act, groups=groups, stride=conv_stride, padding=conv_padding,
                          bias_attr=bias_attr, param_attr=param_attr, shared_biases=shared_bias,
                          layer_attr=conv_layer_attr)
    return layer.img_pool(name=f"{name}_pool", input=conv, pool_size=pool_size, pool_type=pool_type,
                          stride=pool_stride, padding=pool_padding, layer_attr=pool_layer_attr)


def img_conv_bn_pool(input, filter_size, num_filters, pool_size, name=None, pool_type=None, act=None, groups=1,
                     conv_stride=1, conv_padding=0, conv_bias_attr=None, num_channel=None, conv_param_attr=None,
                     shared_bias=True, conv_layer_attr=None, bn_param_attr=None, bn_bias_attr=None,
                     bn_layer_attr=None, pool_stride=1, pool_padding=0, pool_layer_attr=None):
    """img_conv (linear) -> batch_norm (act, default Relu) -> img_pool."""
    name = default_name("conv_bn_pool", name)
    conv = layer.img_conv(name=f"{name}_conv", input=input, filter_size=filter_size, num_filters=num_filters,
                          num_channels=num_channel, act=activation.Linear(), groups=groups, stride=conv_stride,
                          padding=conv_padding, bias_attr=conv_bias_attr, param_attr=conv_param_attr,
                          shared_biases=shared_bias, layer_attr=conv_layer_attr)
    normed = layer.batch_norm(name=f"{name}_bn", input=conv, act=act, bias_attr=bn_bias_attr,
                              param_attr=bn_param_attr, layer_attr=bn_layer_attr)
    return layer.img_pool(name=f"{name}_pool", input=normed, pool_type=pool_type, pool_size=pool_size,
                          stride=pool_stride, padding=pool_padding, layer_attr=pool_layer_attr)


def img_conv_group(input, conv_num_filter, pool_size, num_channels=None, conv_padding=1, conv_filter_size=3,
                   conv_act=None, conv_with_batchnorm=False, conv_batchnorm_drop_rate=0, pool_stride=1,
                   pool_type=None):
    """A VGG block: len(conv_num_filter) convs, each optionally batch-normed (and dropped out), then a pool."""
    count = len(conv_num_filter)

    def per_conv(value):
        return list(value) if hasattr(value, "__len__") else [value] * count

    paddings, sizes, acts = per_conv(conv_padding), per_conv(conv_filter_size), per_conv(conv_act)
    with_bn, drop_rates = per_conv(conv_with_batchnorm), per_conv(conv_batchnorm_drop_rate)
    tmp = input
    for i in range(count):
        conv_act_i = acts[i] if acts[i] is not None else activation.Relu()
        tmp = layer.img_conv(input=tmp, padding=paddings[i], filter_size=sizes[i], num_filters=conv_num_filter[i],
                             num_channels=num_channels if i == 0 else None,
                             act=activation.Linear() if with_bn[i] else conv_act_i)
        if with_bn[i]:
            rate = drop_rates[i]
            tmp = layer.batch_norm(input=tmp, act=conv_act_i,
                                   layer_attr=Extra(drop_rate=rate) if rate and abs(rate) >= 1e-5 else None)
    return layer.img_pool(input=tmp, stride=pool_stride, pool_size=pool_size, pool_type=pool_type)


__getattr__ = v2_getattr("networks", {
    "sequence_conv_pool": "nothing: LoD sequences were removed; paddle.nn.Conv1D over a padded batch",
    "text_conv_pool": "nothing: LoD sequences were removed; paddle.nn.Conv1D over a padded batch",
    "simple_lstm": "paddle.nn.LSTM",
    "bidirectional_lstm": "paddle.nn.LSTM(direction='bidirect')",
    "simple_gru": "paddle.nn.GRU",
    "simple_attention": "paddle.nn.MultiHeadAttention",
    "vgg_16_network": "paddle.vision.models.vgg16",
    "small_vgg": "paddle.networks.img_conv_group blocks, or paddle.vision.models.vgg11",
    "dropout_layer": "paddle.layer.dropout",
})
