"""`--visualdl LOGDIR`: the JSON log's scalars written for VisualDL, Paddle's experiment tracker.

Not run directly:  python -m legacy_mnist.train --visualdl runs/cnn   then   visualdl --logdir runs/cnn
(`pip install ".[visualdl]"`). Tags: `step/cost`, `step/acc` against the global step, every number of each
`epoch` record as `epoch/<name>` against the pass, the `final` record's numbers as `final/<name>` and an
`interrupted`/`diverged` record's step as `stopped/<kind>` - the same values `--log-format json` prints,
since both come from `logs.json_record`. VisualDL 2.5.3 installs beside paddlepaddle 3.3.1 without changing
any installed version (measured).
"""
from __future__ import annotations

from pathlib import Path

from ..common.atomic import check_output
from ..common.extras import require
from ..logs import json_record

SKIPPED = {"event", "epoch", "step", "global_step", "exit_code"}  # the record's coordinates, not scalars


def scalars(record: dict) -> list[tuple[str, int, float]]:
    """(tag, step, value) for every number in one JSON-log record."""
    kind = record["event"]
    numbers = {k: v for k, v in record.items()
               if k not in SKIPPED and isinstance(v, (int, float)) and not isinstance(v, bool)}
    if kind == "step":
        return [(f"step/{k}", record["global_step"], float(v)) for k, v in sorted(numbers.items())]
    if kind == "epoch":
        return [(f"epoch/{k}", record["epoch"], float(v)) for k, v in sorted(numbers.items())]
    if kind == "final":
        return [(f"final/{k}", 0, float(v)) for k, v in sorted(numbers.items())]
    return [(f"stopped/{kind}", record["global_step"], float(record["global_step"]))]


class VisualDLLog:
    """An event handler that writes the scalars with `visualdl.LogWriter` into `logdir`."""

    def __init__(self, logdir: str | Path, log_every: int):
        require("visualdl", "--visualdl")
        check_output(logdir, "--visualdl", directory=True)
        from visualdl import LogWriter

        self.log_every = log_every
        self._writer = LogWriter(logdir=str(logdir))

    def __call__(self, event) -> None:
        record = json_record(event, self.log_every)
        if record is None:
            return
        for tag, step, value in scalars(record):
            self._writer.add_scalar(tag=tag, step=step, value=value)
        if record["event"] != "step":
            self._writer.flush()

    def close(self) -> None:
        self._writer.close()
