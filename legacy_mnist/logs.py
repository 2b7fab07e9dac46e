"""The command line's own event handlers: the book's text log (with a progress bar on a terminal) or JSON.

Not run directly; `python -m legacy_mnist.train` passes one of these to `train(cfg, event_handler=...)`.
"""
from __future__ import annotations

import json
import sys
from typing import TextIO

from .events import EndIteration, EndPass, EndTraining, Stopped


def _number(value):
    return None if value is None else round(float(value), 6)


class BookTextLog:
    """`Pass %d, Batch %d, Cost %f` every `log_every` steps, `Test with Epoch ...` per pass, final accuracy.

    On a terminal, two tqdm bars sit under the log lines: this pass and the whole run, each with its rate
    and ETA, fitted to the terminal's width (also when it is resized). Off a terminal (a pipe, a file, CI)
    there are no bars at all. `close()` clears them, so an error printed afterwards starts on a clean line.
    """

    def __init__(self, log_every: int, stream: TextIO | None = None, progress: bool | None = None):
        self.log_every = log_every
        self.stream = stream or sys.stdout
        self.progress = bool(getattr(self.stream, "isatty", lambda: False)()) if progress is None else progress
        self._pass_bar = None
        self._run_bar = None

    def _print(self, text: str) -> None:
        if self._pass_bar is not None or self._run_bar is not None:
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)  # above the bars, which are redrawn below it
        else:
            print(text, file=self.stream)

    def __call__(self, event) -> None:
        if isinstance(event, EndIteration):
            if event.batch_id % self.log_every == 0:
                self._print("Pass %d, Batch %d, Cost %f" % (event.pass_id, event.batch_id, event.cost))
            if self.progress:
                self._advance(event)
        elif isinstance(event, EndPass):
            self._close_pass_bar()
            m = event.metrics
            if m.get("val_acc") is not None:
                self._print("Validation with Epoch %d, avg_cost: %s, acc: %s" % (event.pass_id, m["val_cost"], m["val_acc"]))
            self._print("Test with Epoch %d, avg_cost: %s, acc: %s" % (event.pass_id, m["test_cost"], m["test_acc"]))
            self._print("Pass %d took %.1f s, %.0f img/s" % (event.pass_id, m["seconds"], m["train_images_per_sec"]))
        elif isinstance(event, EndTraining):
            self.close()
            r = event.result
            print("Best pass is %d, validation acc %s, testing Avgcost is %s"
                  % (r.best_epoch, r.best_val_acc, r.test_cost), file=self.stream)
            print("The classification accuracy is %.2f%%" % (r.test_acc * 100), file=self.stream)
            print("Inference model saved to %s" % r.save_dir, file=self.stream)
        self.stream.flush()

    def _bar(self, desc: str, total: int, initial: int, position: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit="img", unit_scale=True, file=self.stream,
                    dynamic_ncols=True, leave=False, position=position, mininterval=0.2, smoothing=0.1)

    def _advance(self, event: EndIteration) -> None:
        size = event.batch_size
        if self._run_bar is None and event.total_steps:
            done = event.global_step - 1
            self._run_bar = self._bar("run", event.total_steps * size, done * size, 1)
        if self._pass_bar is None:
            self._pass_bar = self._bar("pass %d" % event.pass_id, max(event.batches_per_pass, 1) * size,
                                       event.batch_id * size, 0)
        self._pass_bar.update(size)
        if self._run_bar is not None:
            self._run_bar.update(size)

    def _close_pass_bar(self) -> None:
        if self._pass_bar is not None:
            self._pass_bar.close()
            self._pass_bar = None

    def close(self) -> None:
        """Clear the bars (before the final lines, or before an error is printed)."""
        shown = self._pass_bar is not None or self._run_bar is not None
        self._close_pass_bar()
        if self._run_bar is not None:
            self._run_bar.close()
            self._run_bar = None
        if shown:
            self.stream.write("\r")  # tqdm leaves the cursor at the end of the cleared line
        self.stream.flush()


def json_record(event, log_every: int) -> dict | None:
    """The JSON log's record for `event` (None for events it does not log); `--visualdl` writes the numbers
    of the same records, so both logs always hold the same scalars."""
    if isinstance(event, EndIteration) and event.batch_id % log_every == 0:
        return {"event": "step", "epoch": event.pass_id, "step": event.batch_id, "global_step": event.global_step,
                "cost": _number(event.cost), "acc": _number(event.metrics.get("acc"))}
    if isinstance(event, EndPass):
        return dict({k: _number(v) if isinstance(v, float) else v for k, v in event.metrics.items()}, event="epoch")
    if isinstance(event, Stopped):
        return {"event": event.kind, "epoch": event.epoch, "step": event.step, "global_step": event.global_step,
                "reason": event.reason, "checkpoint": event.checkpoint, "resume": event.resume,
                "exit_code": event.exit_code, "message": event.message}
    if isinstance(event, EndTraining):
        r = event.result
        return {"event": "final", "best_epoch": r.best_epoch, "val_acc": _number(r.best_val_acc),
                "test_acc": _number(r.test_acc), "test_cost": _number(r.test_cost), "save_dir": str(r.save_dir),
                "checkpoint_dir": str(r.checkpoint_dir), "seconds": _number(r.seconds), "data_source": r.data_source,
                "world_size": r.world_size}
    return None


class JsonLog:
    """One JSON object per line: `step` records, `epoch` records, then one `final` record - or, when training
    stops early, one `interrupted` or `diverged` record with the checkpoint and the command that resumes."""

    def __init__(self, log_every: int, stream: TextIO | None = None):
        self.log_every = log_every
        self.stream = stream or sys.stdout

    def close(self) -> None:
        self.stream.flush()

    def __call__(self, event) -> None:
        record = json_record(event, self.log_every)
        if record is not None:
            self.stream.write(json.dumps(record, sort_keys=True) + "\n")
            self.stream.flush()
