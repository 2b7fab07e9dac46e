"""A v2 network's topology: the layers an output needs, in creation order, built into the current Program.

Not run directly; `paddle.parameters.create`, `paddle.trainer.SGD` and `paddle.infer` use it. As in v2's
Topology (paddle/v2/topology.py), only the layers an output depends on belong to it, and the data layers
come in the order they were created - that order is the default feeding (which field of a sample feeds
which data layer).
"""
from __future__ import annotations

from . import layer as v2_layer
from ..fluid._compat import legacy_paddle

paddle = legacy_paddle()
F = paddle.nn.functional


class Network:
    """One build of a topology in the current program: a variable per layer, plus feeds, costs, metrics."""

    def __init__(self, training: bool):
        self.training = training
        self.outputs: dict = {}  # layer -> output variable (after activation and dropout)
        self.pre_activation: dict = {}  # layer -> output variable before the activation
        self.feeds: dict = {}  # data layer name -> feed variable
        self.costs: list = []  # per-sample cost variables
        self.metrics: list = []  # (evaluator name, accuracy variable)

    def add(self, layer) -> None:
        pre = layer.forward(self, *[self.outputs[x] for x in layer.inputs])
        out = layer.act.apply(pre) if layer.act is not None else pre
        if layer.drop_rate:
            # v2 zeroed dropped values in training and scaled by (1 - rate) at test (Layer::forwardDropOut).
            out = F.dropout(out, p=layer.drop_rate, training=self.training, mode="downscale_in_infer")
        self.pre_activation[layer], self.outputs[layer] = pre, out


class Topology:
    """The layers `layers` (and `extra_layers`) depend on, in the order the script created them."""

    def __init__(self, layers, extra_layers=None):
        outputs = list(layers) if isinstance(layers, (list, tuple)) else [layers]
        if extra_layers is not None:
            outputs += list(extra_layers) if isinstance(extra_layers, (list, tuple)) else [extra_layers]
        for item in outputs:
            if not isinstance(item, v2_layer.Layer):
                raise TypeError(f"expected paddle.layer outputs, got {item!r}")
        self.outputs = outputs
        seen, stack = set(), list(outputs)
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(node.inputs)
        self.layers = sorted(seen, key=lambda node: node.order)
        self.data_layers = [node for node in self.layers if isinstance(node, v2_layer.DataLayer)]
        names = [node.name for node in self.data_layers]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"two data layers are both named {duplicated[0]!r}")

    def parameters(self) -> list:
        """Every parameter once, in layer order; a name shared by two layers must mean the same shape."""
        specs: dict = {}
        for node in self.layers:
            for spec in node.params:
                known = specs.setdefault(spec.name, spec)
                if known.paddle_shape != spec.paddle_shape:
                    raise ValueError(f"parameter {spec.name!r} is shared by layers of different shapes "
                                     f"({known.shape} and {spec.shape})")
        return list(specs.values())

    def data_type(self) -> list:
        """[(data layer name, its paddle.data_type)], the feeding order v2 used."""
        return [(node.name, node.type) for node in self.data_layers]

    def build(self, training: bool) -> Network:
        """Append every layer's ops to the current program (call inside paddle.static.program_guard)."""
        net = Network(training)
        for node in self.layers:
            net.add(node)
        return net
