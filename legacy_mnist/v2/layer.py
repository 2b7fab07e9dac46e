"""`paddle.layer`: v2's layers as nodes of a network, built into a static Program when one is needed.

Not run directly; `img = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))`, then
`paddle.layer.fc`, `img_conv`, `img_pool`, `batch_norm`, `dropout`, `classification_cost`.
As in v2 (paddle/v2/layer.py parsed the graph only when a topology was made), a call records a node;
`paddle.parameters.create`, `paddle.trainer.SGD` and `paddle.infer` build a Program from the nodes they use
(legacy_mnist/v2/topology.py). Defaults are v2's (trainer_config_helpers/layers.py): fc's activation is Tanh,
img_conv's and batch_norm's Relu; img_pool rounds its output size up (ceil_mode=True); a conv or pool that
reads a flat dense_vector takes a square image of num_channels x sqrt(size / num_channels) pixels each side.
Why this is long: one translation per paddle.v2 layer name the recognize-digits chapter used, in the old
module's order, each a few lines onto our own stages.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Callable

from . import activation as act_module
from . import pooling
from ._names import bias_name, default_name, uncovered, v2_getattr, weight_name
from .attr import ZEROS, Extra, Init, Param
from .data_type import InputType
from ..fluid._compat import legacy_paddle, paddle_deprecations_hidden

paddle = legacy_paddle()
F = paddle.nn.functional
_ORDER = itertools.count()


@dataclass(frozen=True)
class ParamSpec:
    """One learnable (or static) parameter of a layer, under its v2 name and v2 shape."""

    name: str
    shape: tuple  # v2's shape: the ParameterConfig dims, or (1, size) where v2 recorded none
    paddle_shape: tuple
    init: Init
    learning_rate: float = 1.0
    l1_rate: float | None = None
    l2_rate: float | None = None
    is_static: bool = False
    initializer: Callable | None = None  # v2's Param(initializer=f): f(name) -> ndarray

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def param_attr(self):
        """The paddle.ParamAttr the program is built with (the values come from the Parameters)."""
        regularizer = None
        if self.l1_rate:
            regularizer = paddle.regularizer.L1Decay(self.l1_rate)
        elif self.l2_rate is not None:
            regularizer = paddle.regularizer.L2Decay(self.l2_rate)
        return paddle.ParamAttr(name=self.name, initializer=paddle.nn.initializer.Constant(0.0),
                                learning_rate=self.learning_rate, regularizer=regularizer,
                                trainable=not self.is_static)


def _spec(name: str, shape: tuple, paddle_shape: tuple, attr: Param | None, default: Init) -> ParamSpec:
    if attr is None:
        return ParamSpec(name, shape, paddle_shape, default)
    return ParamSpec(attr.name or name, shape, paddle_shape, attr.init, attr.learning_rate, attr.l1_rate,
                     attr.l2_rate, attr.is_static, attr.initializer)


def _bias_attr(bias_attr, where: str) -> Param | None | bool:
    """v2's bias_attr: None/True is a zero-initialised bias, False none, a Param its own settings."""
    if bias_attr is None or bias_attr is True:
        return None
    if bias_attr is False or isinstance(bias_attr, Param):
        return bias_attr
    raise TypeError(f"{where}: bias_attr must be a paddle.attr.Param, True, False or None, got {bias_attr!r}")


def _check_param_attr(param_attr, where: str) -> Param | None:
    if param_attr is None or isinstance(param_attr, Param):
        return param_attr
    raise TypeError(f"{where}: param_attr must be a paddle.attr.Param, got {param_attr!r}")


def _drop_rate(layer_attr, where: str) -> float | None:
    if layer_attr is None:
        return None
    if not isinstance(layer_attr, Extra):
        raise TypeError(f"{where}: layer_attr must be a paddle.attr.Extra, got {layer_attr!r}")
    return layer_attr.drop_rate


def _activation(act, default, where: str):
    act = default if act is None else act
    if not isinstance(act, act_module.BaseActivation):
        raise TypeError(f"{where}: act must be a paddle.activation object such as paddle.activation.Relu(), got {act!r}")
    return act


def _pair(value, value_y, where: str, what: str) -> tuple[int, int]:
    """v2's (x, y) pairs: `value` may be one int for both or an (x, y) sequence; returns (y, x) for Paddle."""
    if value_y is None:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError(f"{where}: {what} must be an int or an (x, y) pair, got {value!r}")
            value, value_y = value
        else:
            value_y = value
    return int(value_y), int(value)


class Layer:
    """A v2 layer output: `name`, `size` (values per sample) and, for images, `num_filters` (channels)."""

    def __init__(self, name: str, inputs: list, size: int, *, image: tuple | None = None, act=None,
                 params: tuple = (), drop_rate: float | None = None):
        self.name = name
        self.inputs = list(inputs)
        self.size = int(size)
        self.image = image  # (channels, height, width) when the output is an image
        self.act = act
        self.params = tuple(params)
        self.drop_rate = drop_rate
        self.order = next(_ORDER)

    @property
    def num_filters(self) -> int | None:
        return self.image[0] if self.image else None

    def forward(self, net, *inputs):
        """Append this layer's ops to the current program; returns the output before the activation."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<paddle.layer {type(self).__name__} {self.name!r}, size {self.size}>"


def _layers(value, where: str) -> list[Layer]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in values:
        if not isinstance(item, Layer):
            raise TypeError(f"{where}: input must be a paddle.layer output, got {item!r}")
    if not values:
        raise ValueError(f"{where}: input is empty")
    return values


def _image(layer: Layer, num_channels, where: str) -> tuple[int, int, int]:
    """(channels, height, width) of `layer` read as an image; a flat vector is taken as square, as v2 did."""
    if layer.image is not None:
        if num_channels is not None and int(num_channels) != layer.image[0]:
            raise ValueError(f"{where}: num_channels={num_channels} but input {layer.name!r} has "
                             f"{layer.image[0]} channels")
        return layer.image
    if num_channels is None:
        raise ValueError(f"{where}: input {layer.name!r} is a flat vector of {layer.size} values; give num_channels "
                         "(v2 needs it to see an image)")
    channels = int(num_channels)
    side = math.isqrt(layer.size // channels) if channels > 0 else 0
    if channels <= 0 or channels * side * side != layer.size:
        raise ValueError(f"{where}: input {layer.name!r} has {layer.size} values, not {channels} square "
                         "channel(s); give the data layer height= and width=")
    return channels, side, side


def _as_image(var, shape: tuple[int, int, int]):
    return var if len(var.shape) == 4 else paddle.reshape(var, [-1, *shape])


class DataLayer(Layer):
    def __init__(self, name: str, type: InputType, height=None, width=None):
        image = None
        if type.kind == "dense" and height and width:
            height, width = int(height), int(width)
            if type.dim % (height * width):
                raise ValueError(f"paddle.layer.data {name!r}: {type} is not a whole number of {height}x{width} images")
            image = (type.dim // (height * width), height, width)
        super().__init__(name, [], type.dim, image=image)
        self.type = type

    def forward(self, net):
        if self.type.kind == "dense":
            var = paddle.static.data(self.name, [None, self.type.dim], "float32")
        else:
            var = paddle.static.data(self.name, [None, 1], "int64")
        net.feeds[self.name] = var
        return var


def data(name, type, height=None, width=None, depth=None, layer_attr=None):
    """A data layer: what the reader feeds under `name` (see paddle.data_type)."""
    if not isinstance(type, InputType):
        raise TypeError(f"paddle.layer.data {name!r}: type must be paddle.data_type.dense_vector(n) or "
                        f"integer_value(n), got {type!r}")
    if depth is not None:
        raise uncovered("paddle.layer.data(depth=...)", "3-D images: paddle.static.data + paddle.static.nn.conv3d")
    return DataLayer(str(name), type, height, width)


class FcLayer(Layer):
    def forward(self, net, *inputs):
        weights = [spec.param_attr() for spec in self.params if spec is not self.bias]
        with paddle_deprecations_hidden():
            return paddle.static.nn.fc(list(inputs) if len(inputs) > 1 else inputs[0], self.size,
                                       weight_attr=weights if len(weights) > 1 else weights[0],
                                       bias_attr=self.bias.param_attr() if self.bias else False)


def fc(input, size, act=None, name=None, param_attr=None, bias_attr=None, layer_attr=None):
    """Fully connected: act(sum_i input_i @ W_i + b); v2's default act is Tanh, weights N(0, 1/sqrt(fan-in))."""
    inputs = _layers(input, "paddle.layer.fc")
    attrs = list(param_attr) if isinstance(param_attr, (list, tuple)) else [param_attr] * len(inputs)
    if len(attrs) != len(inputs):
        raise ValueError(f"paddle.layer.fc: {len(attrs)} param_attr for {len(inputs)} inputs")
    name = default_name("fc_layer", name)
    size = int(size)
    params = [_spec(weight_name(name, i), (x.size, size), (x.size, size), _check_param_attr(a, "paddle.layer.fc"),
                    Init("smart")) for i, (x, a) in enumerate(zip(inputs, attrs))]
    bias = _bias_attr(bias_attr, "paddle.layer.fc")
    bias_spec = None if bias is False else _spec(bias_name(name), (1, size), (size,), bias, ZEROS)
    layer = FcLayer(name, inputs, size, act=_activation(act, act_module.Tanh(), "paddle.layer.fc"),
                    params=params + ([bias_spec] if bias_spec else []),
                    drop_rate=_drop_rate(layer_attr, "paddle.layer.fc"))
    layer.bias = bias_spec
    return layer


class ConvLayer(Layer):
    def forward(self, net, x):
        with paddle_deprecations_hidden():
            return paddle.static.nn.conv2d(_as_image(x, self.in_image), self.image[0], self.filter, stride=self.stride,
                                           padding=self.padding, dilation=self.dilation, groups=self.groups,
                                           param_attr=self.params[0].param_attr(),
                                           bias_attr=self.params[1].param_attr() if len(self.params) > 1 else False)


def _out_size(size: int, window: int, padding: int, stride: int, ceil: bool) -> int:
    span = size + 2 * padding - window
    return (span + stride - 1) // stride + 1 if ceil else span // stride + 1


def img_conv(input, filter_size, num_filters, name=None, num_channels=None, act=None, groups=1, stride=1, padding=0,
             dilation=1, bias_attr=None, param_attr=None, shared_biases=True, layer_attr=None, filter_size_y=None,
             stride_y=None, padding_y=None, dilation_y=None, trans=False, layer_type=None):
    """2-D convolution; v2's default act is Relu, its weights N(0, sqrt(2 / (filter_size^2 * channels)))."""
    where = "paddle.layer.img_conv"
    (x,) = _layers(input, where)
    if trans:
        raise uncovered("paddle.layer.img_conv(trans=True)", "paddle.static.nn.conv2d_transpose")
    if not shared_biases:
        raise uncovered("paddle.layer.img_conv(shared_biases=False)", "one bias per filter (shared_biases=True)")
    channels, height, width = _image(x, num_channels, where)
    fy, fx = _pair(filter_size, filter_size_y, where, "filter_size")
    sy, sx = _pair(stride, stride_y, where, "stride")
    py, px = _pair(padding, padding_y, where, "padding")
    dy, dx = _pair(dilation, dilation_y, where, "dilation")
    groups, filters = int(groups), int(num_filters)
    if channels % groups or filters % groups:
        raise ValueError(f"{where}: groups={groups} must divide the {channels} input channels and {filters} filters")
    # v2's caffe_mode output size: floor((in + 2 * padding - dilated filter) / stride) + 1
    out_h = _out_size(height, (fy - 1) * dy + 1, py, sy, ceil=False)
    out_w = _out_size(width, (fx - 1) * dx + 1, px, sx, ceil=False)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"{where}: a {fx}x{fy} filter does not fit the {width}x{height} input {x.name!r}")
    name = default_name("conv", name)
    weight_attr = _check_param_attr(param_attr, where)
    fan = fx * fx * channels  # img_conv_layer's "special initial for conv layers" uses filter_size squared
    smart = Init("normal", 0.0, math.sqrt(2.0 / fan))
    weight = _spec(weight_name(name, 0), (1, filters * channels // groups * fy * fx),
                   (filters, channels // groups, fy, fx), weight_attr, smart)
    if weight.init.kind == "smart":
        weight = dataclasses.replace(weight, init=smart)
    bias = _bias_attr(bias_attr, where)
    params = [weight] + ([] if bias is False else [_spec(bias_name(name), (filters, 1), (filters,), bias, ZEROS)])
    layer = ConvLayer(name, [x], filters * out_h * out_w, image=(filters, out_h, out_w),
                      act=_activation(act, act_module.Relu(), where), params=params,
                      drop_rate=_drop_rate(layer_attr, where))
    layer.in_image, layer.groups = (channels, height, width), groups
    layer.filter, layer.stride, layer.padding, layer.dilation = (fy, fx), (sy, sx), (py, px), (dy, dx)
    return layer


class PoolLayer(Layer):
    def forward(self, net, x):
        from ..fluid.layers import _pool2d

        return _pool2d(_as_image(x, self.in_image), pool_size=self.window, pool_type=self.kind,
                       pool_stride=self.stride, pool_padding=self.padding, ceil_mode=self.ceil_mode,
                       exclusive=self.exclusive)


def img_pool(input, pool_size, name=None, num_channels=None, pool_type=None, stride=1, padding=0, layer_attr=None,
             pool_size_y=None, stride_y=None, padding_y=None, ceil_mode=True, exclude_mode=None):
    """2-D max or average pooling; v2's output size rounds up (ceil_mode=True) and its stride defaults to 1."""
    where = "paddle.layer.img_pool"
    (x,) = _layers(input, where)
    pool_type = pooling.Max() if pool_type is None else pool_type
    if not isinstance(pool_type, (pooling.Max, pooling.Avg)):
        raise TypeError(f"{where}: pool_type must be paddle.pooling.Max() or paddle.pooling.Avg(), got {pool_type!r}")
    channels, height, width = _image(x, num_channels, where)
    ky, kx = _pair(pool_size, pool_size_y, where, "pool_size")
    sy, sx = _pair(stride, stride_y, where, "stride")
    py, px = _pair(padding, padding_y, where, "padding")
    out_h = _out_size(height, ky, py, sy, ceil=bool(ceil_mode))
    out_w = _out_size(width, kx, px, sx, ceil=bool(ceil_mode))
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"{where}: a {kx}x{ky} window does not fit the {width}x{height} input {x.name!r}")
    layer = PoolLayer(default_name("pool", name), [x], channels * out_h * out_w, image=(channels, out_h, out_w),
                      drop_rate=_drop_rate(layer_attr, where))
    layer.in_image, layer.kind = (channels, height, width), pool_type.name
    layer.window, layer.stride, layer.padding = (ky, kx), (sy, sx), (py, px)
    layer.ceil_mode, layer.exclusive = bool(ceil_mode), exclude_mode is None or bool(exclude_mode)
    return layer


class BatchNormLayer(Layer):
    def forward(self, net, x):
        scale, shift, mean, variance = self.params
        if self.image is not None:
            x = _as_image(x, self.image)
        with paddle_deprecations_hidden():
            return paddle.static.nn.batch_norm(
                x, is_test=not net.training, momentum=self.momentum, epsilon=self.epsilon,
                param_attr=scale.param_attr(), bias_attr=shift.param_attr(), moving_mean_name=mean.name,
                moving_variance_name=variance.name, use_global_stats=self.use_global_stats)


def batch_norm(input, act=None, name=None, img3D=False, num_channels=None, bias_attr=None, param_attr=None,
               layer_attr=None, batch_norm_type=None, epsilon=1e-5, moving_average_fraction=0.9,
               use_global_stats=None, mean_var_names=None):
    """Batch normalisation per channel (image input) or per feature; v2's default act is Relu."""
    where = "paddle.layer.batch_norm"
    (x,) = _layers(input, where)
    if img3D:
        raise uncovered("paddle.layer.batch_norm(img3D=True)", "paddle.static.nn.batch_norm on a 5-D tensor")
    image = _image(x, num_channels, where) if (x.image is not None or num_channels is not None) else None
    channels = image[0] if image else x.size
    name = default_name("batch_norm", name)
    bias = _bias_attr(bias_attr, where)
    if bias is False:
        raise uncovered("paddle.layer.batch_norm(bias_attr=False)", "a batch_norm with its shift (the default)")
    mean_name, var_name = mean_var_names or (weight_name(name, 1), weight_name(name, 2))
    row = (1, channels)
    params = (
        _spec(weight_name(name, 0), row, (channels,), _check_param_attr(param_attr, where), Init("normal", 1.0, 0.0)),
        _spec(bias_name(name), row, (channels,), bias, ZEROS),
        # The moving statistics start at 0, as v2's ___batch_norm_N__.w1/.w2 did; they are not trained.
        ParamSpec(mean_name, row, (channels,), ZEROS, is_static=True),
        ParamSpec(var_name, row, (channels,), ZEROS, is_static=True),
    )
    layer = BatchNormLayer(name, [x], x.size, image=image, act=_activation(act, act_module.Relu(), where),
                           params=params, drop_rate=_drop_rate(layer_attr, where))
    layer.momentum, layer.epsilon = float(moving_average_fraction), float(epsilon)
    layer.use_global_stats = bool(use_global_stats)
    return layer


class DropoutLayer(Layer):
    def forward(self, net, x):
        return x


def dropout(input, dropout_rate, name=None):
    """v2's dropout layer: the input, with `dropout_rate` of its values zeroed in training (scaled at test)."""
    (x,) = _layers(input, "paddle.layer.dropout")
    return DropoutLayer(default_name("dropout", name), [x], x.size, image=x.image,
                        drop_rate=Extra(drop_rate=dropout_rate).drop_rate)


class CostLayer(Layer):
    """A per-sample cost; the trainer minimises the sum of every cost over the batch, as v2 did."""

    def forward(self, net, prediction, label, weight=None):
        source = self.inputs[0]
        if isinstance(source.act, act_module.Softmax):
            # -log(softmax(x)[label]) computed from the logits: the same cost, without log(0) on a confident net.
            cost = F.cross_entropy(net.pre_activation[source], label, reduction="none")
        else:
            cost = F.cross_entropy(prediction, label, use_softmax=False, reduction="none")
        if weight is not None:
            cost = cost * weight
        if self.coeff != 1.0:
            cost = paddle.scale(cost, self.coeff)
        net.costs.append(cost)
        if self.evaluator is not None:
            net.metrics.append((self.evaluator, paddle.static.accuracy(input=prediction, label=label)))
        return cost


CLASSIFICATION_ERROR = "classification_error_evaluator"


def classification_error_evaluator(*args, **kwargs):
    """The evaluator classification_cost adds by default: its metric is the error rate (1 - accuracy)."""
    raise uncovered("paddle.v2 classification_error_evaluator(...) as a call",
                    "paddle.layer.classification_cost, which reports it as metrics['classification_error_evaluator']")


def _cost(where: str, prefix: str, input, label, weight, name, coeff, evaluator) -> CostLayer:
    (x,) = _layers(input, where)
    (y,) = _layers(label, where)
    if not (isinstance(y, DataLayer) and y.type.kind == "index"):
        raise TypeError(f"{where}: label must be a data layer of paddle.data_type.integer_value(n), got {y!r}")
    inputs = [x, y] + (_layers(weight, where) if weight is not None else [])
    layer = CostLayer(default_name(prefix, name), inputs, 1)
    layer.coeff = float(coeff)
    layer.evaluator = evaluator
    return layer


def classification_cost(input, label, weight=None, name=None, evaluator=classification_error_evaluator,
                        layer_attr=None, coeff=1.0):
    """Cross-entropy of the class probabilities `input`; reports v2's classification_error_evaluator."""
    if evaluator not in (None, classification_error_evaluator):
        raise uncovered("paddle.layer.classification_cost(evaluator=...)",
                        "the default evaluator (classification_error_evaluator) or evaluator=None")
    metric = CLASSIFICATION_ERROR if evaluator is not None else None
    return _cost("paddle.layer.classification_cost", "cost", input, label, weight, name, coeff, metric)


def cross_entropy_cost(input, label, name=None, coeff=1.0, weight=None, layer_attr=None, softmax_selfnorm_alpha=0.1):
    """Cross-entropy of the class probabilities `input`, without an evaluator."""
    return _cost("paddle.layer.cross_entropy_cost", "cross_entropy", input, label, weight, name, coeff, None)


__getattr__ = v2_getattr("layer", {
    "max_id": "numpy.argmax(paddle.infer(output_layer=..., ...), axis=1)",
    "addto": "paddle.add in a paddle.static program",
    "concat": "paddle.concat in a paddle.static program",
    "mixed": "paddle.layer.fc (a full_matrix_projection is an fc without bias)",
    "embedding": "paddle.static.nn.embedding",
    "lstmemory": "paddle.nn.LSTM",
    "grumemory": "paddle.nn.GRU",
    "recurrent_group": "paddle.nn.RNN",
    "pooling": "nothing: LoD sequences were removed; paddle.mean/paddle.max over a padded batch",
    "mse_cost": "paddle.nn.functional.mse_loss",
    "square_error_cost": "paddle.nn.functional.square_error_cost",
    "img_cmrnorm": "paddle.nn.functional.local_response_norm",
    "parse_network": "paddle.parameters.create(cost) / paddle.trainer.SGD(cost, ...), which build the Program",
})
