"""The benchmark's harness: each job in its own process, interleaved repetitions, paired figures.

Not run directly; `python -m legacy_mnist.bench` and its sections (legacy_mnist/benchmarks/) use it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence


REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("train", "t99", "infer", "models", "scaling", "best", "tutorials", "porting", "photos", "runtimes")
# "models" (2-3 more minutes), "scaling", "best" (~50), "tutorials" (30-40), "porting" (~5), "photos" (~10) and
# "runtimes" (~3) are asked for by name
DEFAULT_SECTIONS = ("train", "t99", "infer")
RESULT_PREFIX = "BENCH_RESULT "  # legacy_mnist.benchmarks.workers.common prints it; the driver must not import the workers


@dataclass(frozen=True)
class BenchConfig:
    threads: int = 0  # 0: every available core, for every runtime
    reps: int = 5  # repetitions of each throughput / inference pair
    t99_reps: int = 2  # each is a real training run; its pass count is deterministic, its pace varies with load
    steps: int = 300  # timed training steps per repetition
    warmup: int = 30  # untimed steps first (program preparation, allocator, caches)
    batch_size: int = 64  # the book's
    seed: int = 1
    target: float = 0.99  # test accuracy for the time-to-accuracy figure
    max_epochs: int = 5  # the default recipe's passes (its LR schedule spans them); then give up on the target
    val_size: int = 5000  # the pipeline's default hold-out
    t99_train_limit: int | None = None
    infer_batch: int = 500
    single_calls: int = 300
    batch_calls: int = 20
    onnx_check_images: int = 500  # images the ONNX conversion compares between Paddle and ONNX Runtime
    best_seeds: int = 5  # seeds of the best model's recipe (each a full training, ~10 minutes on 2 cores)
    runtime_models: tuple = ("cnn", "vgg")  # the shipped models section runtimes runs every backend on
    sections: tuple = DEFAULT_SECTIONS
    photos_before: str | None = None  # section photos: an older checkout whose code also reads the sets
    photos_quick: bool = False  # section photos: a few images per set, to check the machinery


QUICK = dict(reps=1, t99_reps=1, steps=8, warmup=3, max_epochs=1, val_size=500, t99_train_limit=2000,
             target=0.5, infer_batch=100, single_calls=10, batch_calls=2, onnx_check_images=50, best_seeds=1,
             photos_quick=True, runtime_models=("cnn",))


@dataclass(frozen=True)
class Job:
    label: str  # e.g. "ours", "pytorch", "onnxruntime"
    module: str  # legacy_mnist.benchmarks.workers.ours / legacy_mnist.benchmarks.workers.torch_peer / legacy_mnist.benchmarks.workers.ort_peer
    kind: str  # train / t99 / infer
    spec: dict
    timeout: float = 600.0


def run_process(argv: list[str], cwd: Path, timeout: float, env: dict | None = None) -> dict:
    """Run one worker command; its result dict (the last RESULT_PREFIX line), or {"error": one line}."""
    tick = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result = {"error": f"timed out after {timeout:.0f} s"}
    else:
        lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if proc.returncode == 0 and lines:
            result = json.loads(lines[-1][len(RESULT_PREFIX):])
        else:
            tail = [line for line in proc.stderr.strip().splitlines() if line.strip()]
            result = {"error": f"exit {proc.returncode}: {tail[-1] if tail else 'no output'}"}
    result["wall_s"] = time.perf_counter() - tick
    return result


def run_job(job: Job, log: Callable[[str], None]) -> dict:
    """Run one worker process; its result dict, or {"error": one line} when it failed."""
    result = run_process([sys.executable, "-m", job.module, job.kind, json.dumps(job.spec)], REPO, job.timeout)
    result["load"] = os.getloadavg()[0]  # 1-minute load average as the worker ended: was the machine shared?
    log(f"  {job.kind:<5} {job.label:<22} {_brief(result)}")
    return result


def _brief(result: dict) -> str:
    if "error" in result:
        return "FAILED " + result["error"]
    if "test_acc" in result and "seed" in result:
        return f"test accuracy {result['test_acc']:.4f} ({result['wall_s']:.0f} s)"
    if "per_class" in result:
        return f"accuracy {result['accuracy']:.4f} ({result['wall_s']:.0f} s)"
    if "accuracy" in result:
        return f"{100 * result['accuracy']:.2f}% test accuracy ({result['wall_s']:.0f} s)"
    for key, unit in (("img_per_s", "img/s"), ("seconds", "s to target"), ("latency_ms", "ms/image"),
                      ("fused_allreduce_ms", "ms for a step's all_reduce")):
        if result.get(key) is not None:
            extra = f", {result['throughput']:.0f} img/s batched" if key == "latency_ms" else ""
            return f"{result[key]:.3f} {unit}{extra} ({result['wall_s']:.0f} s)"
    return f"target not reached ({result['wall_s']:.0f} s)"


def interleave(jobs: Sequence[Job], reps: int, log: Callable[[str], None]) -> dict[str, list[dict]]:
    """Run the jobs `reps` times, alternating the order (A B, B A, ...); label -> results per repetition."""
    results: dict[str, list[dict]] = {job.label: [] for job in jobs}
    for rep in range(reps):
        log(f" repetition {rep + 1}/{reps}")
        for job in (jobs if rep % 2 == 0 else list(reversed(jobs))):
            results[job.label].append(run_job(job, log))
    return results


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    ours: float | None
    peer: str
    peer_value: float | None
    ratio: float | None  # median over repetitions of ours/peer
    ratio_range: tuple | None
    goal: str  # e.g. ">= 1.0x" or "<= 1024 MB"
    met: bool | None


def median_or_none(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def values(results: list[dict], key: str) -> list[float | None]:
    return [None if "error" in r else r.get(key) for r in results]


def paired(name: str, unit: str, ours: list, peer_label: str, peer: list, goal: float | None,
           higher_is_better: bool) -> Figure:
    """A figure from per-repetition values; the ratio pairs repetition i of ours with repetition i of the peer."""
    ratios = [a / b for a, b in zip(ours, peer) if a is not None and b is not None and b > 0]
    ratio = median_or_none(ratios)
    met = None
    if goal is not None and ratio is not None:
        met = ratio >= goal if higher_is_better else ratio <= goal
    goal_text = "" if goal is None else f"{'>=' if higher_is_better else '<='} {goal:g}x"
    return Figure(name, unit, median_or_none(ours), peer_label, median_or_none(peer), ratio,
                  (min(ratios), max(ratios)) if ratios else None, goal_text, met)


def absolute(name: str, unit: str, ours: list, peer_label: str, peer: list, limit: float) -> Figure:
    """A figure with an absolute goal (ours <= limit); the peer's value and ratio are for context."""
    figure = paired(name, unit, ours, peer_label, peer, None, higher_is_better=False)
    return dataclasses.replace(figure, goal=f"<= {limit:g} {unit}",
                               met=None if figure.ours is None else figure.ours <= limit)


def _spec(cfg: BenchConfig, threads: int, **extra) -> dict:
    return dict(threads=threads, batch_size=cfg.batch_size, seed=cfg.seed, val_size=cfg.val_size, **extra)
