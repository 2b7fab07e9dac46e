"""`paddle.trainer.SGD`: v2's trainer, driving one static training Program and its test clone.

Not run directly; the v2 tutorial's
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)
    trainer.train(reader=paddle.batch(...), num_passes=5, event_handler=handler)
    result = trainer.test(reader=paddle.batch(paddle.dataset.mnist.test(), batch_size=128))
    trainer.save_parameter_to_tar(f)
works as written. The Programs follow the book's flow (legacy_mnist/training/program.py): the test program is cloned
before `minimize`, and the training program gets the same fast CPU kernels as ours. As in v2
(paddle/v2/trainer.py, SGD.train), the gradient is that of the cost summed over the batch, `event.cost` is
that sum divided by the batch size, and `metrics` holds classification_error_evaluator, the error rate.
"""
from __future__ import annotations

import collections.abc

from . import _ops, event as v2_event
from ._names import uncovered, v2_getattr
from .data_feeder import DataFeeder
from .layer import CostLayer
from .optimizer import Optimizer
from .parameters import Parameters
from .runtime import RUNTIME
from .topology import Topology
from ..fluid._compat import legacy_paddle
from ..training.program import _index_max_pools, _use_onednn_convs, configure_runtime

paddle = legacy_paddle()


def _programs(topology: Topology, update_equation: Optimizer, seed: int):
    """(main, startup, test, main fetches, test fetches, metric names, model average) for one topology."""
    main, startup = paddle.static.Program(), paddle.static.Program()
    main.random_seed = startup.random_seed = seed
    with paddle.static.program_guard(main, startup), paddle.utils.unique_name.guard():
        net = topology.build(training=True)
        if not net.costs:
            raise ValueError("paddle.trainer.SGD: cost must be a cost layer such as paddle.layer.classification_cost")
        # v2 minimised the sum of every cost layer's per-sample cost over the batch (SGD.train: out_args.sum()).
        loss = _ops.total(net.costs[0])
        for cost in net.costs[1:]:
            loss = loss + _ops.total(cost)
        fetches = [loss] + [accuracy for _, accuracy in net.metrics]
        test = main.clone(for_test=True)
        _index_max_pools(main)
        update_equation.paddle_optimizer().minimize(loss)
        average = None
        if update_equation.model_average is not None:
            average = update_equation.model_average.paddle_model_average()
            average.minimize(loss)
    _use_onednn_convs(paddle, main)
    _use_onednn_convs(paddle, test)
    test_fetches = [test.global_block().var(var.name) for var in fetches]
    return main, startup, test, fetches, test_fetches, [name for name, _ in net.metrics], average


class _Metrics:
    """Error counts per evaluator, from the fetched accuracies: v2's classification_error_evaluator."""

    def __init__(self, names):
        self.names = names
        self.errors = [0] * len(names)
        self.samples = 0

    def add(self, accuracies, size: int) -> dict:
        errors = [size - round(float(acc) * size) for acc in accuracies]
        self.errors = [total + e for total, e in zip(self.errors, errors)]
        self.samples += size
        return {name: e / size for name, e in zip(self.names, errors)}

    def result(self) -> dict:
        return {name: e / self.samples for name, e in zip(self.names, self.errors)} if self.samples else {}


class SGD:
    """paddle.trainer.SGD(cost, parameters, update_equation, extra_layers=None)."""

    def __init__(self, cost, parameters, update_equation, extra_layers=None, is_local=True, pserver_spec=None,
                 use_etcd=True):
        if not isinstance(parameters, Parameters):
            raise TypeError("paddle.trainer.SGD: parameters should be paddle.parameters.create(cost)")
        if not isinstance(update_equation, Optimizer):
            raise TypeError("paddle.trainer.SGD: update_equation must be a paddle.optimizer object such as "
                            "paddle.optimizer.Momentum(...)")
        if not is_local or pserver_spec is not None:
            raise uncovered("paddle.trainer.SGD(is_local=False)", "local training; paddle.distributed for clusters")
        self._topology = Topology(cost, extra_layers)
        specs = self._topology.parameters()
        self._place = RUNTIME.place()
        configure_runtime(paddle, RUNTIME.trainer_count)
        (self._main, startup, self._test, self._fetches, self._test_fetches, self._metric_names,
         self._average) = _programs(self._topology, update_equation, RUNTIME.seed)
        self._scope = paddle.static.Scope()
        self._exe = paddle.static.Executor(self._place)
        with paddle.static.scope_guard(self._scope):
            self._exe.run(startup)
        parameters.attach(self._scope, self._place, specs)
        self._parameters = parameters

    def _feeder(self, feeding) -> DataFeeder:
        return DataFeeder(self._topology.data_type(), feeding)

    def train(self, reader, num_passes=1, event_handler=None, feeding=None):
        """Train `num_passes` passes over `reader` (a batched reader creator), calling `event_handler`."""
        handler = event_handler if event_handler is not None else (lambda event: None)
        if not callable(reader) or not isinstance(reader(), collections.abc.Iterator):
            raise TypeError("trainer.train: reader should be a function that returns an iterator, such as "
                            "paddle.batch(paddle.dataset.mnist.train(), 128)")
        if not callable(handler):
            raise TypeError("trainer.train: event_handler should be a function")
        feeder = self._feeder(feeding)
        with paddle.static.scope_guard(self._scope):
            for pass_id in range(int(num_passes)):
                handler(v2_event.BeginPass(pass_id))
                pass_metrics = _Metrics(self._metric_names)
                for batch_id, batch in enumerate(reader()):
                    handler(v2_event.BeginIteration(pass_id, batch_id))
                    size = len(batch)
                    values = self._exe.run(self._main, feed=feeder(batch), fetch_list=self._fetches)
                    metrics = pass_metrics.add(values[1:], size)
                    handler(v2_event.EndIteration(pass_id, batch_id, float(values[0]) / size, metrics))
                handler(v2_event.EndPass(pass_id, pass_metrics.result()))

    def test(self, reader, feeding=None) -> v2_event.TestResult:
        """Mean cost per sample and the metrics of the test program over every batch of `reader`."""
        feeder = self._feeder(feeding)
        metrics, total_cost = _Metrics(self._metric_names), 0.0
        with paddle.static.scope_guard(self._scope):
            for batch in reader():
                values = self._exe.run(self._test, feed=feeder(batch), fetch_list=self._test_fetches)
                total_cost += float(values[0])
                metrics.add(values[1:], len(batch))
        if not metrics.samples:
            raise ValueError("trainer.test: the reader gave no samples")
        return v2_event.TestResult(metrics.result(), cost=total_cost / metrics.samples)

    def save_parameter_to_tar(self, f) -> None:
        """The parameters (averaged, with ModelAverage) in v2's model.tar format; text-mode files work."""
        if self._average is None:
            self._parameters.to_tar(f)
            return
        with paddle.static.scope_guard(self._scope), self._average.apply(self._exe):
            self._parameters.to_tar(f)


__getattr__ = v2_getattr("trainer", {})
