"""The benchmark's report: environment, tables, the busy-machine warning, the block in docs/benchmarks.md.

Not run directly; `python -m legacy_mnist.bench [--write-docs]` prints and writes it.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from pathlib import Path
from typing import Sequence

from . import best as bench_best
from ..common.atomic import atomic_write_text
from ..paddle_env import available_cores
from .harness import BenchConfig, Figure, REPO
from .pipeline import render_models


DOCS = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


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
            "onnxruntime": version("onnxruntime"), "openvino": version("openvino"), "numpy": version("numpy"),
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


def repetitions(cfg: BenchConfig) -> list[str]:
    """The repetition counts of the sections this run measured (the other sections state their own)."""
    sections, parts = set(cfg.sections), []
    if "train" in sections:
        parts.append(f"{cfg.reps} of training throughput ({cfg.steps} timed steps after {cfg.warmup} warm-up steps)")
    if "t99" in sections:
        parts.append(f"{cfg.t99_reps} of time to accuracy")
    if sections & {"infer", "runtimes"}:
        parts.append(f"{cfg.reps} of inference ({cfg.single_calls} single-image calls, {cfg.batch_calls} batch calls)")
    return [f"Repetitions: {'; '.join(parts)}."] if parts else []


def render_report(figures: Sequence[Figure], env: dict, cfg: BenchConfig, command: str, seconds: float,
                  models: dict | None = None, best: dict | None = None) -> str:
    warning = busy_warning(env)
    return "\n".join(([warning, ""] if warning else []) + [
        f"Measured {env['date']} with `{command}` in {seconds / 60:.1f} min: {env['cpu']}, {env['cores']} cores, "
        f"{env['threads']} threads for every runtime; Python {env['python']}, paddlepaddle {env['paddlepaddle']}, "
        f"torch {env['torch']}, onnxruntime {env['onnxruntime']}, openvino {env.get('openvino', 'n/a')}. Load average at the start "
        f"{env['load_before'][0]:.1f}, highest after a measurement {env['load_max']:.1f}.",
    ] + repetitions(cfg) + [
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
