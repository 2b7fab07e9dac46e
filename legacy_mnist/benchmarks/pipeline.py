"""Benchmark sections train, t99, infer and models: our pipeline against PyTorch eager and ONNX Runtime.

Not run directly; `python -m legacy_mnist.bench --sections train,t99,infer,models` runs them.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..errors import PipelineFailure
from .harness import BenchConfig, Figure, Job, REPO, _spec, absolute, interleave, paired, run_job, values


# The PaddlePaddle book's test accuracy per network (none published for the classic LeNet-5) and our goal.
BOOK_ACCURACY = {"softmax": 0.9234, "mlp": 0.9766, "cnn": 0.9920, "lenet5": None}
ACCURACY_GOAL = {"softmax": 0.923, "mlp": 0.977, "cnn": 0.992, "lenet5": 0.988}


def bench_training(cfg: BenchConfig, threads: int, work: Path, log) -> tuple[list[Figure], dict, str | None]:
    log("training throughput (cnn, batch %d, Adam): ours vs PyTorch" % cfg.batch_size)
    common = dict(steps=cfg.steps, warmup=cfg.warmup)
    jobs = [Job("ours", "legacy_mnist.benchmarks.workers.ours", "train", _spec(cfg, threads, workdir=str(work / "train"), **common)),
            Job("pytorch", "legacy_mnist.benchmarks.workers.torch_peer", "train", _spec(cfg, threads, **common))]
    runs = interleave(jobs, cfg.reps, log)
    figure = paired("Training throughput", "img/s", values(runs["ours"], "img_per_s"), "PyTorch eager",
                    values(runs["pytorch"], "img_per_s"), 1.0, higher_is_better=True)
    export = next((r["export"] for r in runs["ours"] if "export" in r), None)
    return [figure], runs, export


def bench_time_to_accuracy(cfg: BenchConfig, threads: int, work: Path, log) -> tuple[list[Figure], dict]:
    log(f"time to {cfg.target:.0%} test accuracy (at most {cfg.max_epochs} passes): ours vs PyTorch")
    common = dict(target=cfg.target, max_epochs=cfg.max_epochs, train_limit=cfg.t99_train_limit)
    jobs = [Job("ours", "legacy_mnist.benchmarks.workers.ours", "t99", _spec(cfg, threads, workdir=str(work / "t99"), **common)),
            Job("pytorch", "legacy_mnist.benchmarks.workers.torch_peer", "t99", _spec(cfg, threads, **common))]
    runs = interleave(jobs, cfg.t99_reps, log)
    name = f"Time to {cfg.target:.0%} test accuracy"
    figures = [
        paired(name, "s", values(runs["ours"], "seconds"), "PyTorch eager", values(runs["pytorch"], "seconds"),
               1.0, higher_is_better=False),
        paired(f"Passes to {cfg.target:.0%}", "", values(runs["ours"], "passes_to_target"), "PyTorch eager",
               values(runs["pytorch"], "passes_to_target"), None, higher_is_better=False),
        absolute("Training peak RSS", "MB", values(runs["ours"], "peak_rss_mb"), "PyTorch eager",
                 values(runs["pytorch"], "peak_rss_mb"), 1024),
    ]
    return figures, runs


def convert_to_onnx(model_dir: str, out: Path, check_images: int, log) -> Path:
    """Our documented conversion: python -m legacy_mnist.export --model-dir DIR --onnx OUT."""
    proc = subprocess.run([sys.executable, "-m", "legacy_mnist.export", "--model-dir", model_dir, "--onnx", str(out),
                           "--check-images", str(check_images)], cwd=REPO, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        tail = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise PipelineFailure(f"ONNX export of {model_dir} failed: {tail[-1] if tail else proc.returncode}")
    log(f"  converted {model_dir} -> {out.name}")
    return out


def bench_inference(cfg: BenchConfig, threads: int, work: Path, export: str | None, log):
    if export is None:
        log("inference: training a short run first to have an export")
        spec = _spec(cfg, threads, workdir=str(work / "infer-model"), steps=max(cfg.steps // 3, 1), warmup=1)
        result = run_job(Job("ours", "legacy_mnist.benchmarks.workers.ours", "train", spec), log)
        if "error" in result:
            raise PipelineFailure(f"could not train a model to benchmark inference: {result['error']}")
        export = result["export"]
    onnx = convert_to_onnx(export, work / "model.onnx", cfg.onnx_check_images, log)
    log(f"inference on MNIST test images (1 image per call; batches of {cfg.infer_batch})")
    common = dict(batch=cfg.infer_batch, single_calls=cfg.single_calls, batch_calls=cfg.batch_calls)
    jobs = [Job("ours (default backend)", "legacy_mnist.benchmarks.workers.ours", "infer", _spec(cfg, threads, model_dir=export, **common)),
            Job("onnxruntime", "legacy_mnist.benchmarks.workers.ort_peer", "infer", _spec(cfg, threads, onnx=str(onnx), **common)),
            Job("pytorch", "legacy_mnist.benchmarks.workers.torch_peer", "infer", _spec(cfg, threads, **common)),
            Job("ours (executor)", "legacy_mnist.benchmarks.workers.ours", "infer",
                _spec(cfg, threads, model_dir=export, backend="executor", **common))]
    runs = interleave(jobs, cfg.reps, log)
    ours, ort, torch, executor = (runs[job.label] for job in jobs)
    batch = f"Batch-{cfg.infer_batch} throughput"
    figures = [
        paired("Single-image latency", "ms", values(ours, "latency_ms"), "ONNX Runtime", values(ort, "latency_ms"),
               1.0, higher_is_better=False),
        paired(batch, "img/s", values(ours, "throughput"), "ONNX Runtime", values(ort, "throughput"), 1.0,
               higher_is_better=True),
        paired("Single-image latency", "ms", values(ours, "latency_ms"), "PyTorch eager",
               values(torch, "latency_ms"), None, higher_is_better=False),
        paired(batch, "img/s", values(ours, "throughput"), "PyTorch eager", values(torch, "throughput"), None,
               higher_is_better=True),
        paired("Single-image latency, executor backend (the book's way)", "ms", values(executor, "latency_ms"),
               "ONNX Runtime", values(ort, "latency_ms"), None, higher_is_better=False),
        paired(f"{batch}, executor backend (the book's way)", "img/s", values(executor, "throughput"),
               "ONNX Runtime", values(ort, "throughput"), None, higher_is_better=True),
    ]
    agree = [sum(a == b for a, b in zip(o["digits"], r["digits"])) / len(o["digits"])
             for o, r in zip(ours, ort) if "digits" in o and "digits" in r]
    return figures, dict(runs, digits_agree_ours_vs_ort=agree)


def bench_models(cfg: BenchConfig, threads: int, work: Path, log) -> tuple[list[Figure], dict]:
    """Each network once with the default recipe: test accuracy against the book, wall time, img/s."""
    log("each network with the default recipe (5 passes): test accuracy, wall time, img/s")
    quick = dict(epochs=1, train_limit=cfg.t99_train_limit) if cfg.t99_train_limit else {}  # only --quick sets it
    runs = {model: [run_job(Job(model, "legacy_mnist.benchmarks.workers.ours", "model",
                                _spec(cfg, threads, workdir=str(work / "models" / model), model=model, **quick)), log)]
            for model in ACCURACY_GOAL}
    figures = []
    for model, goal in ACCURACY_GOAL.items():
        result = runs[model][0]
        acc = None if "error" in result else 100 * result["test_acc"]
        book = BOOK_ACCURACY[model]
        figures.append(Figure(f"Test accuracy, {model}", "%", acc, "the book" if book else "", book and 100 * book,
                              None, None, f">= {100 * goal:.1f} %", None if acc is None else acc >= 100 * goal))
    return figures, runs


def render_models(runs: dict) -> str:
    rows = ["| Network | Test accuracy | Best pass | Wall time | Training img/s (median pass) |",
            "|---|---|---|---|---|"]
    for model, (result,) in runs.items():
        if "error" in result:
            rows.append(f"| {model} | failed: {result['error']} | | | |")
            continue
        rows.append(f"| {model} | {100 * result['test_acc']:.2f}% | {result['best_epoch']} of {result['passes']} "
                    f"| {result['seconds']:.0f} s | {result['img_per_s']:,.0f} |")
    return "\n".join(rows)
