"""The four networks of the recognize-digits tutorials, written once for both Paddle IRs.

Print a summary:  python -m legacy_mnist.train --model lenet5 --summary

Each net is a function `net(img, layers, activation) -> logits` over a small `Layers` facade. Under the
legacy IR the facade emits the fluid-era `paddle.static.nn` ops (faster on CPU, and what the book
exported); under PIR, where `static.nn.conv2d` asserts, it uses `paddle.nn` layers. The facade also records
each layer's output shape and parameter count for `--summary`.

A conv followed by a max pool (`Layers.conv_pool`) is emitted as conv -> max pool -> bias -> activation:
max(x + b) = max(x) + b for a per-channel bias, and max pooling commutes with the monotonic activations
(relu/tanh/sigmoid), so the function and the parameters are the book's, but the bias add, the activation
and their gradients run on a 4x smaller tensor (docs/benchmarks.md has the measurement).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..paddle_env import import_paddle

MODELS = ("softmax", "mlp", "cnn", "lenet5", "vgg")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
DEFAULT_ACTIVATION = {"softmax": None, "mlp": "relu", "cnn": "relu", "lenet5": "relu", "vgg": "relu"}


@dataclass(frozen=True)
class LayerInfo:
    name: str
    output_shape: tuple
    params: int


class Layers:
    """Builds layers in the current program under one IR and records a summary row per layer."""

    def __init__(self, ir: str, training: bool, init: str = "fan-in"):
        self.paddle = import_paddle()
        self.ir = ir
        self.training = training
        self.init = init
        self.summary: list[LayerInfo] = []
        self._counts: dict[str, int] = {}

    def _record(self, kind: str, out, params: int):
        index = self._counts.get(kind, 0)
        self._counts[kind] = index + 1
        self.summary.append(LayerInfo(f"{kind}_{index}", tuple(out.shape[1:]), params))
        return out

    def _fan_in_uniform(self, fan_in: int):
        bound = 1.0 / math.sqrt(fan_in)
        return self.paddle.nn.initializer.Uniform(-bound, bound)

    def _attrs(self, fan_in: int):
        """(weight attr, bias attr) for a layer with this fan-in; None keeps Paddle's default (init "fluid")."""
        if self.init == "fluid":
            return None, None
        uniform = self._fan_in_uniform(fan_in)
        return self.paddle.ParamAttr(initializer=uniform), self.paddle.ParamAttr(initializer=uniform)

    def _bias_initializer(self, fan_in: int):
        """For a bias made by hand: Paddle's default is zeros."""
        if self.init == "fluid":
            return self.paddle.nn.initializer.Constant(0.0)
        return self._fan_in_uniform(fan_in)

    def _activate(self, x, act):
        if act is None:
            return x
        return getattr(self.paddle.nn.functional, act)(x)

    def conv(self, x, filters: int, size: int, act: str | None, padding: int = 0):
        channels = int(x.shape[1])
        params = filters * channels * size * size + filters
        weight_attr, bias_attr = self._attrs(channels * size * size)
        if self.ir == "legacy":
            out = self.paddle.static.nn.conv2d(x, filters, size, padding=padding, act=act, param_attr=weight_attr,
                                               bias_attr=bias_attr)
        else:
            out = self._activate(self.paddle.nn.Conv2D(channels, filters, size, padding=padding,
                                                       weight_attr=weight_attr, bias_attr=bias_attr)(x), act)
        return self._record("conv2d", out, params)

    def conv_pool(self, x, filters: int, size: int, act: str | None, pool_size: int = 2, pool_stride: int = 2):
        """The book's conv(+bias, act) -> max pool, computed as conv -> max pool -> +bias -> act (same function)."""
        channels = int(x.shape[1])
        params = filters * channels * size * size + filters
        fan_in = channels * size * size
        weight_attr, _ = self._attrs(fan_in)
        if self.ir == "legacy":
            conv = self.paddle.static.nn.conv2d(x, filters, size, param_attr=weight_attr, bias_attr=False)
            weight_name = conv.block.ops[-1].input("Filter")[0]
        else:
            layer = self.paddle.nn.Conv2D(channels, filters, size, weight_attr=weight_attr, bias_attr=False)
            conv, weight_name = layer(x), layer.weight.name
        self._record("conv2d", conv, params)
        pooled = self.pool(conv, pool_size, pool_stride)
        # Same name and initial distribution as the bias the fused layer creates, so checkpoints match.
        bias = self.paddle.static.create_parameter(
            [filters], "float32", name=_bias_name(weight_name), is_bias=True,
            default_initializer=self._bias_initializer(fan_in))
        return self._activate(self._add_channel_bias(pooled, bias), act)

    def _add_channel_bias(self, x, bias):
        # A [1, C, 1, 1] view broadcasts the same way in every runtime; elementwise_add's legacy `axis=1` is
        # lost when Paddle Inference translates the program to PIR.
        return x + self.paddle.reshape(bias, [1, -1, 1, 1])

    def pool(self, x, size: int = 2, stride: int = 2):
        out = self.paddle.nn.functional.max_pool2d(x, size, stride)
        return self._record("max_pool2d", out, 0)

    def batch_norm(self, x):
        channels = int(x.shape[1])
        if self.ir == "legacy":
            out = self.paddle.static.nn.batch_norm(x, is_test=not self.training)
        else:
            layer = self.paddle.nn.BatchNorm2D(channels)
            layer.train() if self.training else layer.eval()
            out = layer(x)
        return self._record("batch_norm", out, 2 * channels)  # scale and shift; running stats not trained

    def conv_bn(self, x, filters: int, size: int, act: str | None):
        """3x3-style conv without bias (batch norm's shift replaces it) -> batch norm -> activation."""
        channels = int(x.shape[1])
        weight_attr, _ = self._attrs(channels * size * size)
        if self.ir == "legacy":
            out = self.paddle.static.nn.conv2d(x, filters, size, param_attr=weight_attr, bias_attr=False)
        else:
            out = self.paddle.nn.Conv2D(channels, filters, size, weight_attr=weight_attr, bias_attr=False)(x)
        self._record("conv2d", out, filters * channels * size * size)
        return self._activate(self.batch_norm(out), act)

    def dropout(self, x, rate: float):
        """Inverted dropout: scaled at training time, so the test program's dropout is the identity."""
        out = self.paddle.nn.functional.dropout(x, rate, training=self.training, mode="upscale_in_train")
        return self._record("dropout", out, 0)

    def fc(self, x, size: int, act: str | None):
        inputs = math.prod(int(d) for d in x.shape[1:])
        params = inputs * size + size
        weight_attr, bias_attr = self._attrs(inputs)
        if self.ir == "legacy":
            out = self.paddle.static.nn.fc(x, size, activation=act, weight_attr=weight_attr, bias_attr=bias_attr)
        else:
            flat = self.paddle.flatten(x, 1) if len(x.shape) > 2 else x
            out = self._activate(self.paddle.nn.Linear(inputs, size, weight_attr=weight_attr,
                                                       bias_attr=bias_attr)(flat), act)
        return self._record("fc", out, params)


def _bias_name(weight_name: str) -> str:
    """conv2d_0.w_0 -> conv2d_0.b_0: the name Paddle gives a conv layer's own bias."""
    stem, dot, suffix = weight_name.rpartition(".")
    return f"{stem}.b_{suffix[2:]}" if dot and suffix.startswith("w_") else f"{weight_name}.bias"


def softmax_regression(img, layers: Layers, activation: str | None):
    """Book: one fully connected layer straight to the 10 classes (about 92.3%)."""
    return layers.fc(img, 10, None)


def multilayer_perceptron(img, layers: Layers, activation: str | None):
    """Book: two hidden layers of 200 (the book used tanh, later tutorials relu), then 10 classes."""
    hidden = layers.fc(img, 200, activation)
    hidden = layers.fc(hidden, 200, activation)
    return layers.fc(hidden, 10, None)


def book_cnn(img, layers: Layers, activation: str | None):
    """Book's LeNet-5: conv-pool(20, 5x5) -> batch norm -> conv-pool(50, 5x5) -> fc 10 (about 99.2%)."""
    x = layers.conv_pool(img, 20, 5, activation)
    x = layers.batch_norm(x)
    x = layers.conv_pool(x, 50, 5, activation)
    return layers.fc(x, 10, None)


def classic_lenet5(img, layers: Layers, activation: str | None):
    """LeCun's 6-16-120-84-10 on unpadded 28x28 input: 44,426 parameters."""
    x = layers.conv_pool(img, 6, 5, activation)
    x = layers.conv_pool(x, 16, 5, activation)
    x = layers.fc(x, 120, activation)
    x = layers.fc(x, 84, activation)
    return layers.fc(x, 10, None)


def small_vgg(img, layers: Layers, activation: str | None):
    """VGG-style: [conv 3x3 -> batch norm -> relu] x2 -> max pool, twice (32 then 64 filters, no padding:
    28 -> 24 -> 12 -> 8 -> 4) -> dropout 0.3 -> fc 128 -> dropout 0.3 -> fc 10 (about 99.6% with
    augmentation; the `vgg` recipe in config.MODEL_RECIPES)."""
    x = layers.conv_bn(img, 32, 3, activation)
    x = layers.pool(layers.conv_bn(x, 32, 3, activation))
    x = layers.conv_bn(x, 64, 3, activation)
    x = layers.pool(layers.conv_bn(x, 64, 3, activation))
    x = layers.fc(layers.dropout(x, 0.3), 128, activation)
    return layers.fc(layers.dropout(x, 0.3), 10, None)


NETWORKS: dict[str, Callable] = {
    "softmax": softmax_regression,
    "mlp": multilayer_perceptron,
    "cnn": book_cnn,
    "lenet5": classic_lenet5,
    "vgg": small_vgg,
}


def resolve_activation(model: str, activation: str | None) -> str | None:
    if model == "softmax":
        return None
    return activation or DEFAULT_ACTIVATION[model]


def format_summary(model: str, rows: list[LayerInfo]) -> str:
    """The model summary table: layer, output shape, parameter count, and the total."""
    lines = [f"Model: {model}", f"{'Layer':<16}{'Output shape':<20}{'Params':>10}", "-" * 46]
    for row in rows:
        shape = "[N, " + ", ".join(str(d) for d in row.output_shape) + "]"
        lines.append(f"{row.name:<16}{shape:<20}{row.params:>10,}")
    lines += ["-" * 46, f"{'Total trainable params':<36}{sum(r.params for r in rows):>10,}"]
    return "\n".join(lines)
