"""The best-model section of the benchmarks: vgg's recipe over several seeds, and UCI's digits per class.

Run:  python -m legacy_mnist.bench --sections best        (5 seeds: about 50 minutes on 2 idle cores)
      python -m legacy_mnist.bench --sections best --best-seeds 1
Each seed is one `train(TrainConfig.recipe("vgg", seed=s))` in its own worker process (legacy_mnist.benchmarks.workers.ours best):
the test accuracy of the pass chosen on the validation split, the wall time from calling `train` (data,
program building, 8 evaluations, checkpoints and export included). Then every shipped model and each
seed's export are evaluated on the 1,797 UCI digits through `preprocess` (legacy_mnist.benchmarks.workers.ours uci), per class.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

BEST_MODEL = "vgg"
ACCURACY_GOAL = 0.996
TIME_GOAL_S = 15 * 60
UCI_GOAL = 0.90


def shipped_models() -> dict[str, str]:
    """name -> export directory of every model shipped with the package."""
    from ..exported.model_files import SHIPPED_MODELS_DIR, shipped_model_names

    return {name: str(SHIPPED_MODELS_DIR / name) for name in shipped_model_names()}


TRAIN_TIMEOUT_S = 3600.0  # one training on a loaded machine; 15 minutes on an idle one
UCI_TIMEOUT_S = 600.0


def run(cfg, threads: int, work: Path, log: Callable[[str], None], run_job: Callable[[str, str, dict, float], dict]
        ) -> tuple[list[dict], dict]:
    """(figures as Figure fields, raw runs); `run_job(label, kind, spec, timeout)` runs one legacy_mnist.benchmarks.workers.ours worker."""
    seeds = list(range(cfg.seed, cfg.seed + cfg.best_seeds))
    log(f"best model ({BEST_MODEL}, its own recipe): {len(seeds)} seed(s), then UCI digits per class")
    quick = dict(epochs=1, train_limit=cfg.t99_train_limit, test_limit=1000) if cfg.t99_train_limit else {}
    runs: dict = {"seeds": [], "uci": {}}
    for seed in seeds:
        spec = dict(threads=threads, model=BEST_MODEL, seed=seed, workdir=str(work / "best" / str(seed)), **quick)
        runs["seeds"].append(run_job(f"{BEST_MODEL} seed {seed}", "best", spec, TRAIN_TIMEOUT_S))
    # --quick checks the machinery on this run's export only.
    models = {} if quick else {f"shipped {name}": path for name, path in shipped_models().items()}
    models.update({f"this run, seed {r['seed']}": r["export"] for r in runs["seeds"] if "export" in r})
    for label, path in models.items():
        runs["uci"][label] = run_job(label, "uci", dict(model_dir=path), UCI_TIMEOUT_S)
    first = runs["seeds"][0] if runs["seeds"] and "error" not in runs["seeds"][0] else None
    accs = [100 * r["test_acc"] for r in runs["seeds"] if "error" not in r]
    uci = runs["uci"].get(f"this run, seed {cfg.seed}", {})
    figures = [
        _figure(f"{BEST_MODEL} test accuracy, seed {cfg.seed}", "%", first and 100 * first["test_acc"],
                f">= {100 * ACCURACY_GOAL:.1f} %", first and first["test_acc"] >= ACCURACY_GOAL),
        _figure(f"{BEST_MODEL} test accuracy over {len(accs)} seed{'' if len(accs) == 1 else 's'}, lowest", "%",
                min(accs) if accs else None, "", None),
        _figure(f"{BEST_MODEL} training wall time, seed {cfg.seed}", "s", first and first["seconds"],
                f"<= {TIME_GOAL_S} s", first and first["seconds"] <= TIME_GOAL_S),
        _figure(f"{BEST_MODEL} UCI 8x8 accuracy, seed {cfg.seed}", "%", uci.get("accuracy") and 100 * uci["accuracy"],
                f">= {100 * UCI_GOAL:.0f} %", uci.get("accuracy") and uci["accuracy"] >= UCI_GOAL),
    ]
    return figures, runs


def _figure(name: str, unit: str, ours, goal: str, met) -> dict:
    return dict(name=name, unit=unit, ours=ours, peer="", peer_value=None, ratio=None, ratio_range=None, goal=goal,
                met=None if met is None or ours is None else bool(met))


def render(runs: dict) -> str:
    """Markdown: one row per seed, then UCI accuracy per class for each model."""
    rows = ["| Seed | Test accuracy | Validation accuracy | Best pass | Test accuracy after each pass | Wall time "
            "| Training img/s (median pass) |", "|---|---|---|---|---|---|---|"]
    for r in runs["seeds"]:
        if "error" in r:
            rows.append(f"| | failed: {r['error']} | | | | | |")
            continue
        each = " / ".join(f"{100 * a:.2f}" for a in r["test_accs"])
        rows.append(f"| {r['seed']} | {100 * r['test_acc']:.2f}% | {100 * r['val_acc']:.2f}% | {r['best_epoch']} of "
                    f"{r['passes']} | {each} | {r['seconds'] / 60:.1f} min | {r['img_per_s']:,.0f} |")
    rows += ["", "| UCI 8x8 digits (1,797), preprocess auto | All | " + " | ".join(str(d) for d in range(10)) + " |",
             "|---|---|" + "---|" * 10]
    for label, r in runs["uci"].items():
        if "error" in r:
            rows.append(f"| {label} | failed: {r['error']} |" + " |" * 10)
            continue
        rows.append(f"| {label} | {100 * r['accuracy']:.1f}% | " + " | ".join(f"{100 * a:.0f}" for a in r["per_class"])
                    + " |")
    return "\n".join(rows)
