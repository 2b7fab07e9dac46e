"""Benchmark section "porting": the book's fluid train.py through legacy_mnist.fluid, against the real Paddle 1.8.5
and against our own trainer on the same network.

Run:  LEGACY_MNIST_PADDLE18_PYTHON=/tmp/legacy_mnist_p18/bin/python python -m legacy_mnist.bench --sections porting
      (about 5 minutes on 2 cores with the default 5 repetitions; take the exclusive lock)
The script is the corpus's fluid/book_train.py (the cnn: two conv-pools, batch norm, fc softmax; Adam 0.001,
batch 64), unchanged but for the README's import edits and a `firstn` cut of its readers, run as a user runs
it (legacy_mnist/benchmarks/workers/porting.py times the lines it prints itself). Each repetition runs, in
alternating order: the script through the shim; the same with LEGACY_MNIST_FLUID_AS_WRITTEN=1 (fluid's op
order, Paddle's default kernels: what the shim's execution copies gain); the published script on 1.8.5 at its
defaults and with FLAGS_paddle_num_threads set to the shim's thread count; and our trainer
(`legacy_mnist.train.train`, model cnn, batch 64, Adam) over the same step range. Without
$LEGACY_MNIST_PADDLE18_PYTHON the 1.8.5 figures are n/a. With --quick: one repetition of the shim, 1.8.5 and
our trainer on 101 steps.
"""
from __future__ import annotations

import os
from pathlib import Path

from .harness import BenchConfig, Figure, Job, _spec, interleave, paired, values

WORKER = "legacy_mnist.benchmarks.workers.porting"
PADDLE18_ENV = "LEGACY_MNIST_PADDLE18_PYTHON"
SHIM, AS_WRITTEN, REAL, REAL_THREADS, OURS = ("shim", "shim as written", "Paddle 1.8.5",
                                              "Paddle 1.8.5, threads", "our trainer")


def _steps(cfg: BenchConfig) -> tuple[int, int]:
    """The timed step range: the script prints every 100 steps, so whole hundreds after the warm-up."""
    if cfg.t99_train_limit:  # --quick
        return 0, 100
    first = max(100, -(-cfg.warmup // 100) * 100)
    return first, first + max(100, round(cfg.steps / 100) * 100)


def bench_porting(cfg: BenchConfig, threads: int, work: Path, log) -> tuple[list[Figure], dict]:
    quick = bool(cfg.t99_train_limit)
    first, last = _steps(cfg)
    python18 = os.environ.get(PADDLE18_ENV, "")
    if not (python18 and os.access(python18, os.X_OK)):
        log(f"porting: ${PADDLE18_ENV} is not set to a Python with paddlepaddle==1.8.5: no 1.8.5 figures")
        python18 = ""
    log(f"the book's fluid train.py (cnn, batch 64), img/s from step {first} to {last}: through legacy_mnist.fluid, "
        f"on Paddle 1.8.5, and our trainer")
    book = dict(train_images=(last + 1) * 64, test_images=100 if quick else 1000, from_step=first, to_step=last)
    jobs = [Job(SHIM, WORKER, "book", dict(book, side="shim", num_threads=threads, workdir=str(work / "shim")))]
    if not quick:
        jobs.append(Job(AS_WRITTEN, WORKER, "book", dict(book, side="shim", as_written=True, num_threads=threads,
                                                         workdir=str(work / "as_written"))))
    if python18:
        jobs.append(Job(REAL, WORKER, "book", dict(book, side="fluid18", python=python18,
                                                   workdir=str(work / "fluid18"))))
        if not quick and threads > 1:
            jobs.append(Job(REAL_THREADS, WORKER, "book", dict(book, side="fluid18", python=python18,
                                                               num_threads=threads, workdir=str(work / "fluid18"))))
    warmup, steps = (cfg.warmup, cfg.steps) if quick else (first, last - first)
    jobs.append(Job(OURS, "legacy_mnist.benchmarks.workers.ours", "train",
                    _spec(cfg, threads, warmup=warmup, steps=steps, workdir=str(work / "ours"))))
    runs = interleave(jobs, cfg.reps, log)
    speed = {label: values(results, "img_per_s") for label, results in runs.items()}
    none = [None] * cfg.reps
    network = f"the book's train.py cnn, steps {first}-{last}"
    figures = [
        paired(f"Training img/s, {network}: through legacy_mnist.fluid vs on 1.8.5 at its defaults", "img/s",
               speed[SHIM], "Paddle 1.8.5", speed.get(REAL, none), 1.0, higher_is_better=True),
    ]
    if REAL_THREADS in speed:
        figures.append(paired(f"Training img/s, {network}: through legacy_mnist.fluid vs on 1.8.5 with "
                              f"FLAGS_paddle_num_threads={threads}", "img/s", speed[SHIM],
                              f"Paddle 1.8.5, {threads} threads", speed[REAL_THREADS], 1.0, higher_is_better=True))
    figures.append(paired(f"Training img/s, {network} through legacy_mnist.fluid vs our trainer (cnn, batch 64, Adam)",
                          "img/s", speed[SHIM], "our trainer", speed[OURS], 0.8, higher_is_better=True))
    if AS_WRITTEN in speed:
        figures.append(paired(f"Training img/s, {network} through legacy_mnist.fluid vs the same with "
                              f"LEGACY_MNIST_FLUID_AS_WRITTEN=1", "img/s", speed[SHIM], "as written",
                              speed[AS_WRITTEN], None, higher_is_better=True))
    return figures, runs
