"""The command line's own event handlers: the book's text log (with a progress bar on a terminal) or JSON.

Not run directly; `python -m legacy_mnist.train` passes one of these to `train(cfg, event_handler=...)`.
"""
from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from .events import BeginPass, EndIteration, EndPass, EndTraining


def _number(value):
    return None if value is None else round(float(value), 6)


class BookTextLog:
    """`Pass %d, Batch %d, Cost %f` every `log_every` steps, `Test with Epoch ...` per pass, final accuracy."""

    def __init__(self, log_every: int, stream: TextIO | None = None):
        self.log_every = log_every
        self.stream = stream or sys.stdout
        self.progress = bool(getattr(self.stream, "isatty", lambda: False)())
        self._pass_start = time.perf_counter()
        self._bar_shown = False

    def _clear_bar(self):
        if self._bar_shown:
            self.stream.write("\r\033[K")
            self._bar_shown = False

    def __call__(self, event) -> None:
        if isinstance(event, BeginPass):
            self._pass_start = time.perf_counter()
        elif isinstance(event, EndIteration):
            if event.batch_id % self.log_every == 0:
                self._clear_bar()
                print("Pass %d, Batch %d, Cost %f" % (event.pass_id, event.batch_id, event.cost), file=self.stream)
            if self.progress:
                self._draw_bar(event)
        elif isinstance(event, EndPass):
            self._clear_bar()
            m = event.metrics
            if m.get("val_acc") is not None:
                print("Validation with Epoch %d, avg_cost: %s, acc: %s" % (event.pass_id, m["val_cost"], m["val_acc"]),
                      file=self.stream)
            print("Test with Epoch %d, avg_cost: %s, acc: %s" % (event.pass_id, m["test_cost"], m["test_acc"]),
                  file=self.stream)
            print("Pass %d took %.1f s, %.0f img/s" % (event.pass_id, m["seconds"], m["train_images_per_sec"]),
                  file=self.stream)
        elif isinstance(event, EndTraining):
            r = event.result
            print("Best pass is %d, validation acc %s, testing Avgcost is %s"
                  % (r.best_epoch, r.best_val_acc, r.test_cost), file=self.stream)
            print("The classification accuracy is %.2f%%" % (r.test_acc * 100), file=self.stream)
            print("Inference model saved to %s" % r.save_dir, file=self.stream)
        self.stream.flush()

    def _draw_bar(self, event: EndIteration) -> None:
        done = event.batch_id + 1
        total = max(event.batches_per_pass, 1)
        elapsed = max(time.perf_counter() - self._pass_start, 1e-9)
        rate = done * event.batch_size / elapsed
        eta = (total - done) * elapsed / done
        filled = int(30 * done / total)
        self.stream.write("\rPass %d [%s%s] %d/%d %.0f img/s ETA %ds cost %.4f"
                          % (event.pass_id, "#" * filled, "." * (30 - filled), done, total, rate, eta, event.cost))
        self._bar_shown = True


class JsonLog:
    """One JSON object per line: `step` records, `epoch` records and one `final` record."""

    def __init__(self, log_every: int, stream: TextIO | None = None):
        self.log_every = log_every
        self.stream = stream or sys.stdout

    def _emit(self, record: dict) -> None:
        self.stream.write(json.dumps(record, sort_keys=True) + "\n")
        self.stream.flush()

    def __call__(self, event) -> None:
        if isinstance(event, EndIteration) and event.batch_id % self.log_every == 0:
            self._emit({"event": "step", "epoch": event.pass_id, "step": event.batch_id,
                        "global_step": event.global_step, "cost": _number(event.cost),
                        "acc": _number(event.metrics.get("acc"))})
        elif isinstance(event, EndPass):
            self._emit(dict({k: _number(v) if isinstance(v, float) else v for k, v in event.metrics.items()},
                            event="epoch"))
        elif isinstance(event, EndTraining):
            r = event.result
            self._emit({"event": "final", "best_epoch": r.best_epoch, "val_acc": _number(r.best_val_acc),
                        "test_acc": _number(r.test_acc), "test_cost": _number(r.test_cost),
                        "save_dir": str(r.save_dir), "checkpoint_dir": str(r.checkpoint_dir),
                        "seconds": _number(r.seconds), "data_source": r.data_source})
