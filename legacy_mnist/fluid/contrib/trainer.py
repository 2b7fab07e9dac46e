"""`fluid.contrib.trainer`: fluid 1.0's high-level Trainer and its events, on fluid.Executor.

Not run directly; the book's 2018 recognize-digits script works with its imports changed:
    from legacy_mnist.fluid.contrib.trainer import *
    trainer = Trainer(train_func=train_program, optimizer_func=optimizer_program, place=place)
    trainer.train(num_epochs=1, event_handler=event_handler, reader=train_reader, feed_order=['img', 'label'])
As in fluid 1.0: `train_func()` builds the network in the Trainer's own programs and returns the loss (or a
list whose first item is the loss; the rest are fetched too); the test program is cloned before the
optimizer; everything runs in the Trainer's own Scope. `EndStepEvent.metrics` holds the fetched arrays
(shape [1] each), `test()` the per-batch means. Not covered: `checkpoint_config` (save with
`trainer.save_params` at EndEpochEvent) and multi-process training (`parallel=True` runs on one device).
"""
from __future__ import annotations

import contextlib

from .._compat import FluidArgumentError, legacy_paddle, warn_once

paddle = legacy_paddle()

__all__ = ["Trainer", "BeginEpochEvent", "EndEpochEvent", "BeginStepEvent", "EndStepEvent", "CheckpointConfig"]

_MODERN = ("use paddle.Model(network).prepare(optimizer, loss, metrics).fit(train_data, epochs=...) "
           "(paddle.callbacks for the events), or the Executor loop; legacy_mnist.train.train(cfg, event_handler=...)")


class BeginEpochEvent:
    """The start of epoch `epoch`."""

    def __init__(self, epoch_id):
        self.epoch = epoch_id


class EndEpochEvent:
    """The end of epoch `epoch`."""

    def __init__(self, epoch_id):
        self.epoch = epoch_id


class BeginStepEvent:
    """The start of step `step` of epoch `epoch`; set `fetch_metrics = False` to skip fetching this step."""

    def __init__(self, epoch_id, step_id):
        self.epoch = epoch_id
        self.step = step_id
        self.fetch_metrics = True


class EndStepEvent:
    """The end of a step: `metrics` are the train_func outputs fetched (loss first), [] if not fetched."""

    def __init__(self, epoch_id, step_id, metrics):
        self.epoch = epoch_id
        self.step = step_id
        self.metrics = metrics


class CheckpointConfig:
    """fluid's checkpoint settings; accepted for the signature, refused by Trainer (not covered)."""

    def __init__(self, checkpoint_dir=None, max_num_checkpoints=3, epoch_interval=1, step_interval=10):
        if epoch_interval < 1 or step_interval < 1:
            raise FluidArgumentError("CheckpointConfig: epoch_interval and step_interval must be >= 1")
        self.checkpoint_dir = checkpoint_dir
        self.max_num_checkpoints = max_num_checkpoints
        self.epoch_interval = epoch_interval
        self.step_interval = step_interval


def check_and_get_place(place):
    """fluid's rule: None is CUDAPlace(0) where Paddle has CUDA, else CPUPlace; anything else is an error."""
    if place is None:
        return paddle.CUDAPlace(0) if paddle.is_compiled_with_cuda() else paddle.CPUPlace()
    if not isinstance(place, (paddle.CPUPlace, paddle.CUDAPlace)):
        raise FluidArgumentError(f"Trainer: place should be either CUDAPlace or CPUPlace, got {type(place).__name__}")
    return place


def build_feed_var_list(program, feed_order):
    """The feed Variables in reader-slot order: `feed_order` a list of names, or a {name: slot} dict.

    None (which fluid documented but refused) means the program's data variables in the order defined.
    """
    block = program.global_block()
    if feed_order is None:
        return [var for var in block.vars.values() if var.is_data]
    if isinstance(feed_order, (list, tuple)):
        names = list(feed_order)
    elif isinstance(feed_order, dict):
        if sorted(feed_order.values()) != list(range(len(feed_order))):
            raise FluidArgumentError("feed_order: the values should be a permutation of [0, len(feed_order))")
        names = [name for name, _ in sorted(feed_order.items(), key=lambda item: item[1])]
    else:
        raise FluidArgumentError("feed_order should be either None, a list or a dict")
    for name in names:
        if not block.has_var(name):
            raise FluidArgumentError(f"feed_order names {name!r}, which train_func did not define")
    return [block.var(name) for name in names]


class Trainer:
    """Trainer(train_func, optimizer_func, param_path=None, place=None, parallel=False, checkpoint_config=None)."""

    def __init__(self, train_func, optimizer_func, param_path=None, place=None, parallel=False,
                 checkpoint_config=None):
        warn_once("fluid.contrib.trainer.Trainer", _MODERN)
        if checkpoint_config is not None:
            raise FluidArgumentError("Trainer: checkpoint_config is not covered by legacy_mnist.fluid; save with "
                                     "trainer.save_params(dirname) at EndEpochEvent and pass param_path= to resume")
        from .. import io
        from ..executor import Executor

        self._stop = False
        self.parallel = parallel
        self.scope = paddle.static.Scope()
        self.startup_program = paddle.static.Program()
        self.train_program = paddle.static.Program()
        with paddle.static.program_guard(self.train_program, self.startup_program):
            outputs = train_func()
            self.train_func_outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            self.test_program = self.train_program.clone(for_test=True)
            loss = self.train_func_outputs[0]
            optimizer = optimizer_func()
            if not isinstance(optimizer, paddle.optimizer.Optimizer):
                raise FluidArgumentError("Trainer: the optimizer should be an instance of Optimizer "
                                         "(optimizer_func returned " + type(optimizer).__name__ + ")")
            optimizer.minimize(loss)
        self.place = check_and_get_place(place)
        self._exe = Executor(self.place)
        with self._prog_and_scope_guard():
            self._exe.run(self.startup_program)
            if param_path and __import__("os").path.isdir(param_path):
                io.load_persistables(self._exe, param_path, main_program=self.startup_program)

    @contextlib.contextmanager
    def _prog_and_scope_guard(self):
        with paddle.static.program_guard(self.train_program, self.startup_program), \
                paddle.static.scope_guard(self.scope):
            yield

    def stop(self):
        """Stop training before the next step."""
        self._stop = True

    def train(self, num_epochs, event_handler, reader=None, feed_order=None):
        """Run `num_epochs` passes of `reader` (a batched reader creator), calling `event_handler(event)`."""
        from ..data_feeder import DataFeeder

        with self._prog_and_scope_guard():
            feeder = DataFeeder(feed_list=build_feed_var_list(self.train_program, feed_order), place=self.place,
                                program=self.train_program)
            fetch_names = [var.name for var in self.train_func_outputs]
            for epoch_id in range(num_epochs):
                event_handler(BeginEpochEvent(epoch_id))
                for step_id, data in enumerate(reader()):
                    if self._stop:
                        return
                    begin = BeginStepEvent(epoch_id, step_id)
                    event_handler(begin)
                    fetch = fetch_names if begin.fetch_metrics else []
                    metrics = self._exe.run(self.train_program, feed=feeder.feed(data), fetch_list=fetch)
                    event_handler(EndStepEvent(epoch_id, step_id, metrics))
                event_handler(EndEpochEvent(epoch_id))

    def test(self, reader, feed_order):
        """The mean over `reader`'s batches of each train_func output, on the test program (a list of floats)."""
        from ..data_feeder import DataFeeder

        with paddle.static.scope_guard(self.scope):
            feeder = DataFeeder(feed_list=build_feed_var_list(self.test_program, feed_order), place=self.place,
                                program=self.test_program)
            totals, count = [0.0] * len(self.train_func_outputs), 0
            for data in reader():
                outs = self._exe.run(self.test_program, feed=feeder.feed(data), fetch_list=self.train_func_outputs)
                totals = [total + float(out.reshape(-1)[0]) for total, out in zip(totals, outs)]
                count += 1
        if count == 0:
            raise FluidArgumentError("Trainer.test: the reader gave no batches")
        return [total / count for total in totals]

    def save_params(self, param_path):
        """Every persistable variable into `param_path` (fluid.io.save_persistables' layout)."""
        from .. import io

        with self._prog_and_scope_guard():
            io.save_persistables(self._exe, param_path, main_program=self.train_program)

    def save_inference_model(self, param_path, feeded_var_names, target_var_indexes):
        """An inference model of the train_func outputs at `target_var_indexes`, fed by `feeded_var_names`."""
        from .. import io

        with self._prog_and_scope_guard():
            targets = [self.train_func_outputs[index] for index in target_var_indexes]
            io.save_inference_model(param_path, feeded_var_names, targets, self._exe, main_program=self.test_program)
