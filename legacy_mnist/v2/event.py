"""`paddle.event`: what `trainer.train(event_handler=...)` receives, with v2's fields (paddle/v2/event.py).

Not run directly; `if isinstance(event, paddle.event.EndIteration): print(event.pass_id, event.batch_id,
event.cost, event.metrics)`. `metrics` is a dict of plain floats, e.g. {'classification_error_evaluator':
0.0546875}: the error rate over the batch (EndIteration), the pass (EndPass) or the test set (TestResult).
"""
from __future__ import annotations

from ._names import v2_getattr


class WithMetric:
    def __init__(self, metrics: dict):
        self.metrics = dict(metrics)


class TestResult(WithMetric):
    """What trainer.test returns: `cost` (mean per sample) and `metrics`."""

    __test__ = False  # not a pytest test class

    def __init__(self, metrics: dict, cost: float):
        super().__init__(metrics)
        self.cost = cost


class BeginPass:
    def __init__(self, pass_id: int):
        self.pass_id = pass_id


class EndPass(WithMetric):
    def __init__(self, pass_id: int, metrics: dict):
        super().__init__(metrics)
        self.pass_id = pass_id


class BeginIteration:
    def __init__(self, pass_id: int, batch_id: int):
        self.pass_id = pass_id
        self.batch_id = batch_id


class EndIteration(WithMetric):
    def __init__(self, pass_id: int, batch_id: int, cost: float, metrics: dict):
        super().__init__(metrics)
        self.pass_id = pass_id
        self.batch_id = batch_id
        self.cost = cost


__getattr__ = v2_getattr("event", {
    "EndForwardBackward": "paddle.event.EndIteration (one executor run does forward, backward and the update)",
})
