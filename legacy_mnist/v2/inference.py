"""`paddle.infer` and `paddle.inference.Inference`: run a v2 network's output layer on samples.

Not run directly; `probs = paddle.infer(output_layer=predict, parameters=parameters, input=[(image,)])`
returns one row of probabilities per sample, as v2 did (paddle/v2/inference.py). The network is built in
inference mode (batch norm on its moving statistics, dropout scaled) in its own Program and scope; the
parameter values are copied in when the Inference is made.
"""
from __future__ import annotations

import numpy as np

from ._names import uncovered, v2_getattr
from .data_feeder import DataFeeder
from .runtime import RUNTIME
from .topology import Topology
from ..fluid._compat import legacy_paddle
from ..training.program import configure_runtime

paddle = legacy_paddle()


class Inference:
    def __init__(self, parameters, output_layer=None, fileobj=None):
        if fileobj is not None:
            raise uncovered("paddle.inference.Inference(fileobj=...)", "output_layer= (build the network in the "
                            "script: a pickled topology runs code when it is loaded)")
        if output_layer is None:
            raise ValueError("paddle.inference.Inference: output_layer must be set")
        self._topology = Topology(output_layer)
        place = RUNTIME.place()
        configure_runtime(paddle, RUNTIME.trainer_count)
        self._program, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(self._program, startup), paddle.utils.unique_name.guard():
            net = self._topology.build(training=False)
        self._fetches = [net.outputs[layer] for layer in self._topology.outputs]
        self._scope = paddle.static.Scope()
        self._exe = paddle.static.Executor(place)
        with paddle.static.scope_guard(self._scope):
            self._exe.run(startup)
        for spec in self._topology.parameters():
            if spec.name not in parameters:
                raise ValueError(f"paddle.infer: the network needs parameter {spec.name!r}, which the given "
                                 "parameters do not have (build the network as it was trained, in a fresh process)")
            values = parameters.get(spec.name)
            if values.size != int(np.prod(spec.paddle_shape)):
                raise ValueError(f"paddle.infer: parameter {spec.name!r} has {values.size} values, the network "
                                 f"needs {spec.paddle_shape}")
            self._scope.find_var(spec.name).get_tensor().set(values.reshape(spec.paddle_shape), place)

    def iter_infer(self, input, feeding=None):
        """One result per batch; like v2, the whole `input` is one batch."""
        batch = list(input)
        if not batch:
            return
        feed = DataFeeder(self._topology.data_type(), feeding)(batch)
        with paddle.static.scope_guard(self._scope):
            outputs = self._exe.run(self._program, feed=feed, fetch_list=self._fetches)
        yield [np.asarray(out).reshape(len(batch), -1) for out in outputs]

    def iter_infer_field(self, field, **kwargs):
        fields = field if isinstance(field, (list, tuple)) else [field]
        for name in fields:
            if name != "value":
                raise uncovered(f"paddle.infer(field={name!r})", "field='value' and numpy.argmax(probs, axis=1) "
                                "for the predicted class")
        for outputs in self.iter_infer(**kwargs):
            yield [out for _ in fields for out in outputs]

    def infer(self, input, field="value", flatten_result=True, feeding=None):
        results = None
        for outputs in self.iter_infer_field(field=field, input=input, feeding=feeding):
            results = [[out] for out in outputs] if results is None else [r + [o] for r, o in zip(results, outputs)]
        if results is None:
            return []
        results = [np.concatenate(r) if flatten_result else r for r in results]
        return results[0] if len(results) == 1 else results


def infer(output_layer, parameters, input, feeding=None, field="value"):
    """paddle.infer: the output layer's values for every sample of `input` (a list of tuples)."""
    return Inference(parameters, output_layer=output_layer).infer(input, field=field, feeding=feeding)


__getattr__ = v2_getattr("inference", {})
