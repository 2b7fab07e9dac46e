"""Benchmark our pipeline against PyTorch eager and ONNX Runtime on identical work; print the ratios.

Run:  python -m legacy_mnist.bench                 # about 6-8 minutes on 2 cores
      python -m legacy_mnist.bench --write-docs    # ... and put the table into docs/benchmarks.md
      python -m legacy_mnist.bench --quick         # the whole machinery in well under a minute
Every measurement runs in its own process (`python -m legacy_mnist.benchmarks.workers.<worker>`), so import
costs, thread pools and peak RSS do not leak between frameworks. Repetitions interleave ours and the peer's
(ABBA order) so that load from other processes hits both; each ratio is the median of per-repetition ratios.
Needs the peers: `pip install -e ".[bench]"` (torch, onnxruntime).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from .benchmarks import best as bench_best
from .common.atomic import atomic_write_text
from .errors import ArgumentParser, UserError, run_cli
from .common.extras import require
from .paddle_env import available_cores
from .benchmarks.harness import DEFAULT_SECTIONS, SECTIONS, BenchConfig, Figure, Job, QUICK, REPO, run_job
from .benchmarks.report import DOCS, environment, render_report, write_docs
from .benchmarks.pipeline import bench_inference, bench_models, bench_time_to_accuracy, bench_training

def require_peers(sections) -> None:
    """The peers are optional packages (the 'bench' and 'onnx' extras): refuse at once, in one line, when one
    is missing (installing them is the user's decision, never the benchmark's)."""
    if set(sections) & {"train", "t99", "infer"}:
        require("torch", "the benchmark's PyTorch peer")
    if set(sections) & {"infer", "runtimes"}:
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
        if "porting" in cfg.sections:
            from .benchmarks.porting import bench_porting

            new, runs["porting"] = bench_porting(cfg, threads, work, log)
            figures += new
        if "photos" in cfg.sections:
            from .benchmarks.photos import bench_photos

            new, runs["photos"] = bench_photos(cfg, threads, work, log)
            figures += new
        if "runtimes" in cfg.sections:
            from .benchmarks.runtimes import bench_runtimes

            new, runs["runtimes"] = bench_runtimes(cfg, threads, work, log)
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
                        f"on the full data, 30-40 minutes; photos reads generated photo sets with the shipped models, "
                        f"about 10 minutes; runtimes runs every inference backend against ONNX Runtime on the "
                        f"shipped models, about 3 minutes (default: {','.join(DEFAULT_SECTIONS)})")
    p.add_argument("--best-seeds", type=int, default=d.best_seeds,
                   help=f"seeds the best section trains the best model with, each ~10 minutes (default: {d.best_seeds})")
    p.add_argument("--photos-before", metavar="CHECKOUT", default=d.photos_before,
                   help="section photos: also read the same images with the code and shipped models of this "
                        "older checkout of the project (default: none)")
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
    if ns.photos_before is not None and not (Path(ns.photos_before) / "legacy_mnist" / "shipped_models").is_dir():
        raise UserError(f"--photos-before: {ns.photos_before} is not a checkout of legacy_mnist with shipped models")
    cfg = BenchConfig(threads=ns.threads, reps=ns.reps, t99_reps=ns.t99_reps, steps=ns.steps, target=ns.target,
                      best_seeds=ns.best_seeds, sections=sections, photos_before=ns.photos_before)
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
    if "photos" in outcome["runs"]:
        from .benchmarks.photos import render as render_photos

        report += "\n\n" + render_photos(outcome["runs"]["photos"])
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
