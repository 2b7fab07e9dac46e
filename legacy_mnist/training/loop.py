"""The training loop: passes, checkpoints, resume, events, and the export of the best pass.

Not run directly; `python -m legacy_mnist.train` and `legacy_mnist.train.train(cfg)` (docs/usage.md) run it.
"""
from __future__ import annotations

import contextlib
import math
import platform
import shlex
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..common.atomic import check_output
from .checkpoint import BEST, LAST, CheckpointLock, load_checkpoint, read_meta, save_checkpoint
from ..config import TrainConfig, resume_argv, validate
from .distributed import SINGLE_PROCESS, Cluster, for_this_process
from ..errors import UserError
from ..events import BeginPass, EndIteration, EndPass, EndTraining, Stopped
from ..exported.writing import export_inference_model, write_json
from ..paddle_env import available_cores, import_paddle, ir_guard
from .plots import curves_png
from .program import Programs, build_programs
from .stops import TrainingDiverged, TrainingInterrupted, TrainingStopped, WATCHED_SIZE, WEIGHT_LIMIT, _StopFlag, _finite, _largest_weight
from .feeding import _array_batches, _legacy_batches, evaluate, prepare_data, select_device


@dataclass
class TrainResult:
    history: list[dict]  # one record per completed pass
    best_epoch: int
    best_val_acc: float | None
    test_acc: float  # of the exported (best) pass
    test_cost: float
    save_dir: Path
    checkpoint_dir: Path
    data_source: str
    seconds: float
    config: dict = field(default_factory=dict)
    world_size: int = 1  # data-parallel ranks that trained it
    weights_sha256: str | None = None  # digest of the final training state, when several ranks trained


EXPORT_PROGRAMS = ("model.pdmodel", "model.json")


def check_output_dirs(checkpoint_dir: Path, save_dir: Path) -> None:
    """Refuse, before any training, output directories that cannot be written or whose replacement by the
    export would destroy something (a file, an unrelated directory, the checkpoints)."""
    check_output(checkpoint_dir, "--checkpoint-dir", directory=True)
    check_output(save_dir, "--save-dir", directory=True)
    if save_dir.is_dir():
        names = {p.name for p in save_dir.iterdir() if not p.name.startswith(".")}
        if names and not names & set(EXPORT_PROGRAMS):
            raise UserError(f"--save-dir {save_dir}: holds files that are not an export ({sorted(names)[0]}, ...); "
                            "the export replaces the whole directory, so give a new or empty one")
    ck, out = checkpoint_dir.resolve(), save_dir.resolve()
    if ck == out or out in ck.parents:
        raise UserError(f"--save-dir {save_dir} holds --checkpoint-dir {checkpoint_dir}; the export replaces the "
                        "whole directory, so keep them apart")


def _both(first: Callable[[object], None], second: Callable[[object], None]) -> Callable[[object], None]:
    def handler(event) -> None:
        first(event)
        second(event)

    return handler


def train(cfg: TrainConfig, event_handler: Callable[[object], None] | None = None, *,
          log: Callable[[str], None] | None = None) -> TrainResult:
    """Train `cfg.model`, checkpoint each pass, export the best pass; return the history and results."""
    cfg = validate(cfg)
    if cfg.device == "gpu":  # before any data is read or written: a missing GPU is reported in seconds
        select_device(import_paddle(cfg.verbose), cfg.device)
    # Checkpoints and metrics.json record what was used.
    cfg = cfg.with_changes(init=cfg.resolved_init, augment=cfg.resolved_augment)
    cluster = Cluster.from_env()  # launched ranks: rank 0 alone writes checkpoints, the export and metrics
    if cluster.world > 1 and cfg.num_threads is None:
        cfg = cfg.with_changes(num_threads=cluster.threads_per_rank(available_cores()))
    handler = event_handler or (lambda event: None)
    log = log or (lambda message: print(message, file=sys.stderr))
    started = time.perf_counter()
    checkpoint_dir, save_dir = cfg.resolved_checkpoint_dir, cfg.resolved_save_dir
    writer = cluster.rank == 0
    if writer:
        check_output_dirs(checkpoint_dir, save_dir)
    tracker = None
    if cfg.visualdl and writer:  # one rank writes the scalars, as it writes the checkpoints
        from .visualdl_log import VisualDLLog

        tracker = VisualDLLog(cfg.visualdl, cfg.log_every)
        handler = _both(handler, tracker)
    try:
        # First of all: a second training on this directory stops at once.
        with CheckpointLock(checkpoint_dir) if writer else contextlib.nullcontext():
            try:
                result = _train_locked(cfg, handler, log, started, checkpoint_dir, save_dir, cluster)
            except TrainingStopped as exc:
                again = resume_argv(cfg) + (["--nproc", str(cluster.world)] if 1 < cluster.world == cluster.local_size
                                            else [])  # a job on one machine resumes as one
                resume = " ".join(shlex.quote(a) for a in again) if exc.where["checkpoint"] else None
                handler(Stopped(exc.kind, str(exc), exit_code=exc.exit_code, resume=resume, **exc.where))
                raise
        handler(EndTraining(result))
    finally:
        if tracker is not None:
            tracker.close()
    return result


def _train_locked(cfg: TrainConfig, handler, log, started: float, checkpoint_dir: Path, save_dir: Path,
                  cluster: Cluster) -> TrainResult:
    # Data before Paddle: a bad --data-dir is reported in a second, not after Paddle's slow import.
    train_split, val_split, test_split, source = prepare_data(cfg, log)
    paddle = import_paddle(cfg.verbose)
    parallel = for_this_process(paddle, cfg.device, cfg.ir, cluster)
    place = select_device(paddle, cfg.device, parallel.device_index)
    if cfg.num_threads:
        paddle.base.core.set_num_threads(cfg.num_threads)
    steps_per_epoch = math.ceil(len(train_split.labels) / cfg.batch_size)
    # The LR schedule spans the whole run; --max-steps only cuts it short, so a cut run resumes exactly.
    programs = build_programs(cfg, cfg.epochs * steps_per_epoch, wrap_optimizer=parallel.wrap_optimizer)
    parallel.prepare(programs)
    total_steps = cfg.epochs * steps_per_epoch if cfg.max_steps is None else cfg.max_steps
    stop = _StopFlag(repeated_sigterm_waits=cluster.world > 1)
    scope = paddle.static.Scope()
    with paddle.static.scope_guard(scope), ir_guard(cfg.ir):
        exe = paddle.static.Executor(place)
        exe.run(programs.startup)
        state = _initial_state(cfg, checkpoint_dir, programs, exe, log, parallel.reads_checkpoint)
        state = parallel.start(exe, programs, state)
        if programs.lr_scheduler is not None and state["global_step"]:
            programs.lr_scheduler.step(state["global_step"])
        feeder = None
        if cfg.reader == "legacy":
            feeder = paddle.base.DataFeeder(feed_list=programs.train_feeds, place=place)
        feed_names = (programs.train_feeds[0].name, programs.train_feeds[1].name)
        stop.install()
        try:
            for epoch in range(state["epoch"], cfg.epochs):
                if state["global_step"] >= total_steps:
                    break
                _run_pass(cfg, paddle, exe, programs, train_split, val_split, test_split, epoch, state,
                          steps_per_epoch, total_steps, feeder, feed_names, handler, stop, checkpoint_dir, parallel)
        finally:
            stop.restore()
        return _export_best(cfg, paddle, exe, programs, test_split, state, checkpoint_dir, save_dir, source,
                            started, parallel)


# Settings that change what a step computes; a resumed run must keep them (epochs may grow, logs may change).
RESUME_MUST_MATCH = ("model", "activation", "batch_size", "optimizer", "learning_rate", "lr_schedule",
                     "weight_decay", "init", "seed", "val_size", "ir", "reader", "train_limit", "data_dir",
                     "label_smoothing", "augment")


def _initial_state(cfg: TrainConfig, checkpoint_dir: Path, programs: Programs, exe, log, reads: bool = True
                   ) -> dict:
    fresh = {"epoch": 0, "batch": 0, "global_step": 0, "history": [], "partial": [0.0, 0.0, 0, 0.0],
             "best_epoch": None, "best_val_acc": None}
    if not cfg.resume or not reads:  # data-parallel ranks other than 0 get rank 0's state broadcast
        return fresh
    meta = read_meta(checkpoint_dir, LAST)
    if meta is None:
        log(f"--resume: no checkpoint in {checkpoint_dir / LAST}; starting from scratch")
        return fresh
    saved = meta["config"]
    for name in RESUME_MUST_MATCH:
        if name in saved and saved[name] != getattr(cfg, name):  # a setting newer than the checkpoint: unchecked
            raise UserError(f"--resume: {checkpoint_dir / LAST} was trained with --{name.replace('_', '-')} "
                            f"{saved.get(name)}, not {getattr(cfg, name)}; use the same settings or a new "
                            f"--checkpoint-dir")
    load_checkpoint(checkpoint_dir, LAST, programs.main, exe)
    log(f"Resuming from {checkpoint_dir / LAST}: pass {meta['epoch']}, batch {meta['batch']}")
    return {key: meta[key] for key in fresh}


def _save_last(cfg: TrainConfig, programs: Programs, checkpoint_dir: Path, state: dict) -> None:
    save_checkpoint(checkpoint_dir, LAST, programs.main, dict(state, config=asdict(cfg)))


def _run_pass(cfg, paddle, exe, programs, train_split, val_split, test_split, epoch, state, steps_per_epoch,
              total_steps, feeder, feed_names, handler, stop, checkpoint_dir, parallel=SINGLE_PROCESS) -> None:
    handler(BeginPass(epoch))
    batches = (_legacy_batches(paddle, train_split, cfg, epoch, feeder, parallel.share) if feeder is not None
               else _array_batches(train_split, cfg, epoch, feed_names, parallel.share))
    cost_sum, correct_sum, seen, seconds = state["partial"]
    scope = paddle.static.global_scope()
    # Watched for blow-up after each step: every bias and conv kernel. The big fc matrices (mlp: 157k
    # weights, 4% of a step) blow up together with their biases, so they are left out.
    watched = [scope.find_var(p.name).get_tensor() for p in programs.main.global_block().all_parameters()
               if int(np.prod(p.shape)) <= WATCHED_SIZE]
    tick = time.perf_counter()
    for batch_id, (feed, size) in enumerate(batches):
        if batch_id < state["batch"]:
            continue  # resuming inside a pass: the same seeded order, so skip what was already trained
        if state["global_step"] >= total_steps:
            break
        # Data-parallel ranks get the whole batch's cost and accuracy, and whether any rank was signalled.
        cost, acc, stopping = parallel.run_step(exe, programs, feed, size, stop.signum is not None)
        # The cost alone is not enough: a conv net whose weights blew up to ~1e35 crashes Paddle's next step
        # natively (heap corruption, then a hang in its crash handler) before any cost is NaN.
        largest = _largest_weight(watched)
        problem = (f"cost is {cost}" if not _finite(cost) else
                   None if largest <= WEIGHT_LIMIT else f"the weights exploded (largest |w| {largest:.3g})")
        if problem:
            good = checkpoint_dir / LAST if parallel.is_writer and read_meta(checkpoint_dir, LAST) else None
            kept = (f"last good checkpoint kept in {good}" if good else "no checkpoint had been written yet"
                    if parallel.is_writer else "rank 0 keeps the checkpoints")
            raise TrainingDiverged(f"training diverged at pass {epoch}, batch {batch_id}: {problem} "
                                   f"(try a lower --lr); {kept}", epoch=epoch, batch=batch_id,
                                   global_step=state["global_step"], reason=problem, checkpoint=good)
        if programs.lr_scheduler is not None:
            programs.lr_scheduler.step()
        cost_sum, correct_sum, seen = cost_sum + cost * size, correct_sum + acc * size, seen + size
        state["batch"], state["global_step"] = batch_id + 1, state["global_step"] + 1
        handler(EndIteration(epoch, batch_id, cost, {"acc": acc}, state["global_step"], steps_per_epoch,
                             cfg.batch_size, total_steps))
        if stopping:
            state["partial"] = [cost_sum, correct_sum, seen, seconds + time.perf_counter() - tick]
            if parallel.is_writer:
                _save_last(cfg, programs, checkpoint_dir, state)
            name = signal.Signals(stop.signum).name if stop.signum is not None else "a signal to another rank"
            raise TrainingInterrupted(
                f"interrupted by {name} at pass {epoch}, batch {batch_id}; checkpoint saved to "
                f"{checkpoint_dir / LAST} - run again with --resume to continue", 128 + (stop.signum or 15),
                epoch=epoch, batch=batch_id, global_step=state["global_step"], reason=name,
                checkpoint=checkpoint_dir / LAST)
    seconds += time.perf_counter() - tick
    val_cost, val_acc = evaluate(exe, programs, val_split, cfg.eval_batch_size, parallel)
    test_cost, test_acc = evaluate(exe, programs, test_split, cfg.eval_batch_size, parallel)
    parallel.check_identical(scope, programs.main, f"pass {epoch}")
    has_val = len(val_split.labels) > 0
    record = {
        "epoch": epoch, "steps": state["global_step"],
        "train_cost": cost_sum / max(seen, 1), "train_acc": correct_sum / max(seen, 1),
        "val_cost": val_cost if has_val else None, "val_acc": val_acc if has_val else None,
        "test_cost": test_cost, "test_acc": test_acc,
        "seconds": seconds, "train_images_per_sec": seen / max(seconds, 1e-9),
    }
    state["history"].append(record)
    # The best pass is chosen on the held-out validation images, never on the test set (the book's leak).
    if not has_val or state["best_val_acc"] is None or val_acc > state["best_val_acc"]:
        state["best_epoch"], state["best_val_acc"] = epoch, (val_acc if has_val else None)
        if parallel.is_writer:
            save_checkpoint(checkpoint_dir, BEST, programs.main, dict(state, config=asdict(cfg)))
    state.update(epoch=epoch + 1, batch=0, partial=[0.0, 0.0, 0, 0.0])
    if parallel.is_writer:
        _save_last(cfg, programs, checkpoint_dir, state)
    handler(EndPass(epoch, dict(record)))


def _export_best(cfg, paddle, exe, programs, test_split, state, checkpoint_dir, save_dir, source, started,
                 parallel=SINGLE_PROCESS):
    if state["best_epoch"] is None:
        raise UserError("no pass completed: raise --max-steps or --epochs so at least one pass finishes")
    done = dict(history=state["history"], best_epoch=state["best_epoch"], best_val_acc=state["best_val_acc"],
                save_dir=Path(save_dir), checkpoint_dir=Path(checkpoint_dir), data_source=source,
                config=asdict(cfg), world_size=parallel.world_size, weights_sha256=parallel.last_digest)
    if not parallel.is_writer:  # rank 0 exports; its figures are the job's
        return TrainResult(test_acc=float("nan"), test_cost=float("nan"), seconds=time.perf_counter() - started,
                           **done)
    load_checkpoint(checkpoint_dir, BEST, programs.main, exe)
    test_cost, test_acc = evaluate(exe, programs, test_split, cfg.eval_batch_size)
    seconds = time.perf_counter() - started
    metrics = {
        "model": cfg.model, "best_epoch": state["best_epoch"], "val_acc": state["best_val_acc"],
        "test_acc": test_acc, "test_cost": test_cost, "test_images": int(len(test_split.labels)),
        "history": state["history"], "config": asdict(cfg), "data_source": source,
        "params": sum(row.params for row in programs.summary), "ir": cfg.ir, "world_size": parallel.world_size,
        "paddle_version": paddle.__version__, "python_version": platform.python_version(),
        "input": {"name": programs.image.name, "shape": [-1, 1, 28, 28], "dtype": "float32", "range": [-1, 1]},
        "output": {"name": "softmax probabilities", "shape": [-1, 10], "dtype": "float32"},
    }
    extra = {"metrics.json": write_json(metrics)}
    if cfg.plot:
        extra["curves.png"] = curves_png(state["history"], f"{cfg.model}: best pass {state['best_epoch']}")
    export_inference_model(save_dir, [programs.image], [programs.prediction], exe, programs.test, ir=cfg.ir,
                           extra_files=extra)
    return TrainResult(test_acc=test_acc, test_cost=test_cost, seconds=seconds, **done)
