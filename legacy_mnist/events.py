"""Training events with the old v2 trainer's `event_handler` contract.

Not run directly. `train(cfg, event_handler=f)` calls `f(event)` with these, as `paddle.v2.trainer.SGD.train`
did: `EndIteration` after each step (pass_id, batch_id, cost, metrics) and `EndPass` after each pass
(pass_id, metrics with train/val/test cost and accuracy). Pass and batch ids count from 0, like the book.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BeginPass:
    pass_id: int


@dataclass(frozen=True)
class EndIteration:
    pass_id: int
    batch_id: int
    cost: float
    metrics: dict = field(default_factory=dict)  # {"acc": ...}
    global_step: int = 0
    batches_per_pass: int = 0
    batch_size: int = 0
    total_steps: int = 0  # optimizer steps in the whole run (0: not known)


@dataclass(frozen=True)
class EndPass:
    pass_id: int
    metrics: dict = field(default_factory=dict)  # the epoch record: train/val/test cost and acc, img/s


@dataclass(frozen=True)
class EndTraining:
    result: object  # the TrainResult


@dataclass(frozen=True)
class Stopped:
    """Training stopped early (`kind` "interrupted" by SIGINT/SIGTERM, or "diverged"), sent just before the
    exception is raised. `checkpoint` is the directory a `--resume` continues from (None if none was written);
    `resume` the command line that does it."""

    kind: str
    message: str
    epoch: int
    step: int
    global_step: int
    reason: str
    checkpoint: str | None
    resume: str | None
    exit_code: int
