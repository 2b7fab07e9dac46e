"""The benchmark's scaling section: 1 process x 2 threads against 2 data-parallel processes x 1 thread.

Run:  python -m legacy_mnist.bench --sections scaling      # about 6 minutes on 2 cores (take the exclusive lock)
Both run the default recipe (cnn, batch 64 global, Adam, cosine) as users do (`python -m legacy_mnist.train`,
with `--nproc 2` for the second), to the first pass at the target test accuracy; then legacy_mnist/benchmarks/workers/allreduce.py times
the step's communication on gloo. docs/scaling.md turns these numbers into the 8-GPU / 4-machine estimate.
"""
from __future__ import annotations

from pathlib import Path

from .harness import BenchConfig, Figure, Job, interleave, paired, run_job, values



def labels(threads: int) -> tuple[str, str]:
    """(one process with every thread, two processes with half each): the same cores either way."""
    half = max(1, threads // 2)
    return (f"1 process x {threads} thread{'s' * (threads > 1)}",
            f"2 processes x {half} thread{'s' * (half > 1)}")


def bench_scaling(cfg: BenchConfig, threads: int, work: Path, log) -> tuple[list[Figure], dict]:
    SINGLE, PAIR = labels(threads)
    log(f"data parallelism: {PAIR} (--nproc 2) vs {SINGLE}, to {cfg.target:.0%} test accuracy")
    common = dict(batch_size=cfg.batch_size, seed=cfg.seed, val_size=cfg.val_size, target=cfg.target,
                  max_epochs=cfg.max_epochs, train_limit=cfg.t99_train_limit)
    jobs = [Job(PAIR, "legacy_mnist.benchmarks.workers.scaling", "run", dict(common, nproc=2, threads=max(1, threads // 2),
                                                  workdir=str(work / "pair")), 900),
            Job(SINGLE, "legacy_mnist.benchmarks.workers.scaling", "run", dict(common, nproc=1, threads=threads, workdir=str(work / "one")), 900)]
    runs = interleave(jobs, cfg.t99_reps, log)
    pair, single = runs.pop(PAIR), runs.pop(SINGLE)
    runs.update(pair=pair, single=single, labels=[PAIR, SINGLE])
    runs["allreduce"] = [run_job(Job("gloo all_reduce, 2 ranks", "legacy_mnist.benchmarks.workers.scaling", "allreduce",
                                     {"repeats": 200 if cfg.reps > 1 else 20}), log)]
    figures = [
        paired(f"Training throughput, {PAIR}", "img/s", values(pair, "img_per_s"), SINGLE,
               values(single, "img_per_s"), None, higher_is_better=True),
        paired(f"Time to {cfg.target:.0%} test accuracy, {PAIR}", "s", values(pair, "seconds"), SINGLE,
               values(single, "seconds"), None, higher_is_better=False),
        paired(f"Passes to {cfg.target:.0%}, {PAIR}", "", values(pair, "passes_to_target"), SINGLE,
               values(single, "passes_to_target"), None, higher_is_better=False),
    ]
    return figures, runs


def render_scaling(runs: dict) -> str:
    """The communication figures under the table (the table holds the paired throughput and time)."""
    result = (runs.get("allreduce") or [{}])[0]
    if "error" in result or "step_allreduce_ms" not in result:
        return f"gloo all_reduce: {result.get('error', 'not measured')}"
    sweep = ", ".join(f"{int(size) // 1024} KiB {ms:.2f} ms" for size, ms in result["sweep_ms"].items())
    lines = [f"gloo all_reduce between 2 ranks on this machine (median of repeated runs): the cnn step's "
             f"{result['step_floats']:,} floats in one buffer (what the training step does) "
             f"{result['fused_allreduce_ms']:.2f} ms; the same as {result['step_tensors']} separate all_reduce "
             f"ops {result['step_allreduce_ms']:.2f} ms; one buffer of {sweep}."]
    for key, label in zip(("pair", "single"), runs.get("labels", ())):
        for rep, run in enumerate(runs.get(key, [])):
            if "error" not in run:
                accs = ", ".join(f"{100 * acc:.2f}%" for acc in run["test_acc"])
                lines.append(f"{label}, repetition {rep + 1}: test accuracy after each pass {accs}; "
                             f"training seconds per pass {', '.join(f'{s:.1f}' for s in run['pass_seconds'])}; "
                             f"first pass began {run['first_record_s']:.1f} s after the command started.")
    return "\n\n".join(lines)
