"""Benchmark our pipeline against PyTorch eager and ONNX Runtime on identical work; print the ratios.

Run:  python -m legacy_mnist.bench                 # about 6-8 minutes on 2 cores
      python -m legacy_mnist.bench --write-docs    # ... and put the table into docs/benchmarks.md
      python -m legacy_mnist.bench --quick         # the whole machinery in well under a minute
Every measurement runs in its own process (`python -m legacy_mnist.benchmarks.workers.<worker>`), so import
costs, thread pools and peak RSS do not leak between frameworks. Repetitions interleave ours and the peer's
(ABBA order) so that load from other processes hits both; each ratio is the median of per-repetition ratios.
Needs the peers: `pip install -e ".[bench]"` (torch, onnxruntime).
Why this is long: the command, the harness the sections import and the train/infer/models sections: splits.md
divides it.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .benchmarks import best as bench_best
from .common.atomic import atomic_write_text
from .errors import ArgumentParser, PipelineFailure, UserError, run_cli
from .common.extras import require
from .paddle_env import available_cores

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
SECTIONS = ("train", "t99", "infer", "models", "scaling", "best", "tutorials")
# "models" (2-3 more minutes), "scaling", "best" (~50) and "tutorials" (30-40) are asked for by name
DEFAULT_SECTIONS = ("train", "t99", "infer")
# The PaddlePaddle book's test accuracy per network (none published for the classic LeNet-5) and our goal.
BOOK_ACCURACY = {"softmax": 0.9234, "mlp": 0.9766, "cnn": 0.9920, "lenet5": None}
ACCURACY_GOAL = {"softmax": 0.923, "mlp": 0.977, "cnn": 0.992, "lenet5": 0.988}
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
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
    sections: tuple = DEFAULT_SECTIONS


QUICK = dict(reps=1, t99_reps=1, steps=8, warmup=3, max_epochs=1, val_size=500, t99_train_limit=2000,
             target=0.5, infer_batch=100, single_calls=10, batch_calls=2, onnx_check_images=50, best_seeds=1)


# ------------------------------------------------------------------------------------------ workers
@dataclass(frozen=True)
class Job:
    label: str  # e.g. "ours", "pytorch", "onnxruntime"
    module: str  # legacy_mnist.benchmarks.workers.ours / legacy_mnist.benchmarks.workers.torch_peer / legacy_mnist.benchmarks.workers.ort_peer
    kind: str  # train / t99 / infer
    spec: dict
    timeout: float = 600.0


def run_job(job: Job, log: Callable[[str], None]) -> dict:
    """Run one worker process; its result dict, or {"error": one line} when it failed."""
    tick = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", job.module, job.kind, json.dumps(job.spec)], cwd=REPO,
                              capture_output=True, text=True, timeout=job.timeout)
    except subprocess.TimeoutExpired:
        result = {"error": f"timed out after {job.timeout:.0f} s"}
    else:
        lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if proc.returncode == 0 and lines:
            result = json.loads(lines[-1][len(RESULT_PREFIX):])
        else:
            tail = [line for line in proc.stderr.strip().splitlines() if line.strip()]
            result = {"error": f"exit {proc.returncode}: {tail[-1] if tail else 'no output'}"}
    result["wall_s"] = time.perf_counter() - tick
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


# --------------------------------------------------------------------------------------------- stats
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


# ---------------------------------------------------------------------------------------- sections
def _spec(cfg: BenchConfig, threads: int, **extra) -> dict:
    return dict(threads=threads, batch_size=cfg.batch_size, seed=cfg.seed, val_size=cfg.val_size, **extra)


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
    jobs = [Job("ours (default: predictor)", "legacy_mnist.benchmarks.workers.ours", "infer", _spec(cfg, threads, model_dir=export, **common)),
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


# -------------------------------------------------------------------------------------------- report
def environment(threads: int) -> dict:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": available_cores(), "threads": threads, "python": platform.python_version(),
            "paddlepaddle": version("paddlepaddle"), "torch": version("torch"),
            "onnxruntime": version("onnxruntime"), "numpy": version("numpy"),
            "date": time.strftime("%Y-%m-%d %H:%M"), "load_before": list(os.getloadavg())}


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if not unit:  # a count (passes)
        return f"{value:g}"
    if unit == "%":
        return f"{value:.2f}%"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def render_table(figures: Sequence[Figure]) -> str:
    rows = ["| Figure | Ours | Peer | Peer's value | Ratio ours/peer (median; range) | Goal | Met |",
            "|---|---|---|---|---|---|---|"]
    for f in figures:
        ratio = "n/a" if f.ratio is None else f"{f.ratio:.2f}x"
        if f.ratio_range is not None and f.ratio_range[0] != f.ratio_range[1]:
            ratio += f" ({f.ratio_range[0]:.2f}-{f.ratio_range[1]:.2f})"
        met = {True: "yes", False: "**no**", None: ""}[f.met]
        rows.append(f"| {f.name} | {_fmt(f.ours, f.unit)} | {f.peer} | {_fmt(f.peer_value, f.unit)} | {ratio} "
                    f"| {f.goal} | {met} |")
    return "\n".join(rows)


def busy_warning(env: dict) -> str | None:
    """One line when other processes were running: multi-threaded runtimes then slow down unevenly."""
    busiest = env["load_max"]
    if busiest <= env["threads"] + 0.5 * env["cores"]:  # the worker's own threads count in the load average
        return None
    return (f"**Warning:** the machine was busy (load average up to {busiest:.1f} on {env['cores']} cores). "
            "OpenMP runtimes lose throughput unevenly when their threads are preempted, so these ratios are "
            "less reliable than the repetition ranges suggest; rerun on an idle machine or with `--threads 1`.")


def render_report(figures: Sequence[Figure], env: dict, cfg: BenchConfig, command: str, seconds: float,
                  models: dict | None = None, best: dict | None = None) -> str:
    warning = busy_warning(env)
    return "\n".join(([warning, ""] if warning else []) + [
        f"Measured {env['date']} with `{command}` in {seconds / 60:.1f} min: {env['cpu']}, {env['cores']} cores, "
        f"{env['threads']} threads for every runtime; Python {env['python']}, paddlepaddle {env['paddlepaddle']}, "
        f"torch {env['torch']}, onnxruntime {env['onnxruntime']}. Load average at the start "
        f"{env['load_before'][0]:.1f}, highest after a measurement {env['load_max']:.1f}.",
        f"Repetitions: {cfg.reps} (throughput, inference), {cfg.t99_reps} (time to accuracy); {cfg.steps} timed "
        f"training steps after {cfg.warmup} warm-up steps; {cfg.single_calls} single-image calls, "
        f"{cfg.batch_calls} batch calls.",
        "",
        render_table(figures),
    ] + (["", render_models(models)] if models else []) + (["", bench_best.render(best)] if best else []))


def write_docs(path: Path, report: str) -> Path:
    """Replace the generated block between the markers in `path` (the prose around it stays)."""
    block = f"{BEGIN}\n{report}\n{END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{block}\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    atomic_write_text(path, text)
    return path


# ---------------------------------------------------------------------------------------------- main
def require_peers(sections) -> None:
    """The peers are optional packages (the 'bench' and 'onnx' extras): refuse at once, in one line, when one
    is missing (installing them is the user's decision, never the benchmark's)."""
    if set(sections) & {"train", "t99", "infer"}:
        require("torch", "the benchmark's PyTorch peer")
    if "infer" in sections:
        require("onnxruntime", "the benchmark's ONNX Runtime peer")
        require("paddle2onnx", "the benchmark's ONNX conversion")


def run_bench(cfg: BenchConfig, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
              workdir: str | Path | None = None) -> dict:
    """Run the chosen sections; returns {"figures": [...], "runs": {...}, "env": {...}, "seconds": s}."""
    if not (Path(__file__).resolve().parent / "benchmarks" / "workers" / "ours.py").exists():
        raise UserError(f"{Path(__file__).resolve().parent / 'benchmarks' / 'workers'}: the benchmark workers are missing; reinstall legacy_mnist")
    require_peers(cfg.sections)
    threads = cfg.threads or available_cores()
    env = environment(threads)
    started = time.perf_counter()
    figures: list[Figure] = []
    runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="legacy-mnist-bench-", dir=workdir) as tmp:
        work = Path(tmp)
        export = None
        if "train" in cfg.sections:
            new, runs["train"], export = bench_training(cfg, threads, work, log)
            figures += new
        if "t99" in cfg.sections:
            new, runs["t99"] = bench_time_to_accuracy(cfg, threads, work, log)
            figures += new
        if "infer" in cfg.sections:
            new, runs["infer"] = bench_inference(cfg, threads, work, export, log)
            figures += new
        if "models" in cfg.sections:
            new, runs["models"] = bench_models(cfg, threads, work, log)
            figures += new
        if "scaling" in cfg.sections:
            from .benchmarks.scaling import bench_scaling  # its own module (it imports this driver's machinery)

            new, runs["scaling"] = bench_scaling(cfg, threads, work, log)
            figures += new
        if "best" in cfg.sections:
            new, runs["best"] = bench_best.run(cfg, threads, work, log, lambda label, kind, spec, timeout: run_job(
                Job(label, "legacy_mnist.benchmarks.workers.ours", kind, spec, timeout), log))
            figures += [Figure(**figure) for figure in new]
        if "tutorials" in cfg.sections:
            from .benchmarks.tutorials import bench_tutorials  # its own module (it imports this driver's machinery)

            new, runs["tutorials"] = bench_tutorials(cfg, work, log)
            figures += new
    env["load_after"] = list(os.getloadavg())
    loads = [r["load"] for section in runs.values() for results in section.values() if isinstance(results, list)
             for r in results if isinstance(r, dict) and "load" in r]
    env["load_max"] = max(loads + [env["load_before"][0], env["load_after"][0]])
    return {"figures": figures, "runs": runs, "env": env, "seconds": time.perf_counter() - started,
            "config": dataclasses.asdict(cfg)}


class _Parser(ArgumentParser):
    def error(self, message):
        raise UserError(message)


def build_parser() -> argparse.ArgumentParser:
    d = BenchConfig()
    p = _Parser(prog="python -m legacy_mnist.bench", description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=d.threads,
                   help="CPU threads for every runtime; 0 uses every available core (default: 0)")
    p.add_argument("--reps", type=int, default=d.reps, help=f"repetitions of each throughput/inference pair (default: {d.reps})")
    p.add_argument("--t99-reps", type=int, default=d.t99_reps,
                   help=f"repetitions of the time-to-accuracy training pair (default: {d.t99_reps})")
    p.add_argument("--steps", type=int, default=d.steps, help=f"timed training steps per repetition (default: {d.steps})")
    p.add_argument("--target", type=float, default=d.target, help=f"test accuracy to reach (default: {d.target})")
    p.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                   help=f"comma-separated subset of {', '.join(SECTIONS)}; models trains each network once with "
                        f"the default recipe, 2-3 minutes; tutorials runs the v2 and 2.x tutorials' own recipes "
                        f"on the full data, 30-40 minutes (default: {','.join(DEFAULT_SECTIONS)})")
    p.add_argument("--best-seeds", type=int, default=d.best_seeds,
                   help=f"seeds the best section trains the best model with, each ~10 minutes (default: {d.best_seeds})")
    p.add_argument("--quick", action="store_true",
                   help="one tiny repetition of everything, to check the machinery (default: off)")
    p.add_argument("--write-docs", action="store_true",
                   help=f"put the results table into {DOCS.relative_to(REPO)} (default: off)")
    p.add_argument("--docs", default=str(DOCS), help=f"markdown file for --write-docs (default: {DOCS.relative_to(REPO)})")
    p.add_argument("--json", default=None, help="also write every repetition's raw result here (default: none)")
    return p


def parse_args(argv: Sequence[str] | None) -> tuple[BenchConfig, argparse.Namespace]:
    ns = build_parser().parse_args(argv)
    sections = tuple(s.strip() for s in ns.sections.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise UserError(f"--sections: {','.join(unknown) or 'empty'} is not a subset of {', '.join(SECTIONS)}")
    for name in ("reps", "t99_reps", "steps", "best_seeds"):
        if getattr(ns, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(ns, name)}")
    if ns.threads < 0:
        raise UserError(f"--threads must be >= 0, got {ns.threads}")
    if not 0 < ns.target <= 1:
        raise UserError(f"--target must be in (0, 1], got {ns.target}")
    cfg = BenchConfig(threads=ns.threads, reps=ns.reps, t99_reps=ns.t99_reps, steps=ns.steps, target=ns.target,
                      best_seeds=ns.best_seeds, sections=sections)
    if ns.quick:
        cfg = dataclasses.replace(cfg, **QUICK)
    return cfg, ns


def _stop_on_sigterm(signum, frame):
    # subprocess.run kills the running worker when an exception interrupts it: no orphans keep the CPU busy.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    cfg, ns = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    command = "python -m legacy_mnist.bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    outcome = run_bench(cfg)
    report = render_report(outcome["figures"], outcome["env"], cfg, command.replace(" --write-docs", ""),
                           outcome["seconds"], outcome["runs"].get("models"), outcome["runs"].get("best"))
    if "scaling" in outcome["runs"]:
        from .benchmarks.scaling import render_scaling

        report += "\n\n" + render_scaling(outcome["runs"]["scaling"])
    print(report)
    if ns.json:
        raw = dict(outcome, figures=[dataclasses.asdict(f) for f in outcome["figures"]])
        atomic_write_text(ns.json, json.dumps(raw, indent=1, default=str) + "\n")
    if ns.write_docs:
        print(f"wrote {write_docs(Path(ns.docs), report)}", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_cli(main))


if __name__ == "__main__":
    cli()
