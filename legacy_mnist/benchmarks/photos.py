"""Section photos: the shipped models on generated photos, notebook paper, UCI's digits and written numbers.

Run:  python -m legacy_mnist.bench --sections photos                       (about 10 minutes on 2 cores)
      python -m legacy_mnist.bench --sections photos --photos-before DIR   (... and an older checkout's code)
Untimed: accuracy only. One worker (legacy_mnist/benchmarks/workers/photos.py `make`) writes every set once
as image files, with seed PHOTO_SEED (never used to tune the preprocessing or the number reading: those used
seeds 1-5); then each checkout's code reads the same files (`read`, run under that checkout), with its own
shipped models. Sets: `photos` (MNIST test digits, plain paper, nine file formats), `paper` (PAPER_KINDS
round-robin and blank pages, which should be "no digit found"), UCI's 1,797 8x8 digits upscaled to 32x32,
and `numbers` (2-6 digits, touching to wide). A number's digit accuracy is 1 - edit distance / its digits,
summed over the set (a missed, extra or wrong digit each costs one).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .harness import REPO, Figure, run_process

PHOTO_SEED = 14
SIZES = dict(photos=500, paper=350, blanks=40, numbers=200, uci=None)  # paper: 50 pages of each of 7 kinds
QUICK_SIZES = dict(photos=9, paper=7, blanks=4, numbers=5, uci=20)
WORKER = Path(__file__).resolve().parent / "workers" / "photos.py"
TIMEOUT_S = 3600.0
GOALS = {"uci": 0.90, "numbers": 0.90}  # the bars, held for the best model (as section best does)
BEST_MODEL = "vgg"


def run_worker(kind: str, spec: dict, checkout: Path, log: Callable[[str], None], timeout: float = TIMEOUT_S) -> dict:
    """The worker by file path with `checkout` first on the path: that checkout's legacy_mnist is the one read."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    result = run_process([sys.executable, str(WORKER), kind, json.dumps(spec)], checkout, timeout, env)
    log(f"  photos {kind:<4} {checkout}: {result.get('error') or 'done'} ({result['wall_s']:.0f} s)")
    return result


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two digit strings."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def score(manifest: list[dict], predictions: list[str]) -> dict:
    """One model's readings against the manifest: {row name: {"right", "count", ...}} (see `ROWS`)."""
    rows: dict = {}

    def add(name, right, count=1, **extra):
        row = rows.setdefault(name, {"right": 0, "count": 0})
        row["right"] += int(right)
        row["count"] += count
        for key, value in extra.items():
            row[key] = row.get(key, 0) + value

    for entry, said in zip(manifest, predictions):
        label, kind, where = entry["label"], entry["kind"], entry["set"]
        if where == "numbers":
            add("numbers", said == label, digits=len(label), errors=edit_distance(label, said))
            add(f"numbers, {len(label)} digits", said == label)
        elif where == "paper" and kind.startswith("blank-"):
            add("paper: blank pages (no digit found)", said == "")
        elif where == "paper":
            add(f"paper: {kind}", said == label, not_found=int(said == ""))
            add("paper: all pages with a digit", said == label, not_found=int(said == ""))
        else:
            add(where, said == label, not_found=int(said == ""))
            if where == "uci":
                add(f"uci {label}", said == label)
    return rows


def rate(row: dict | None) -> float | None:
    return None if not row or not row["count"] else row["right"] / row["count"]


def digit_accuracy(row: dict | None) -> float | None:
    return None if not row or not row.get("digits") else max(0.0, 1 - row["errors"] / row["digits"])


def bench_photos(cfg, threads: int, work: Path, log: Callable[[str], None]) -> tuple[list[Figure], dict]:
    sizes = QUICK_SIZES if cfg.photos_quick else SIZES
    data = work / "photo-sets"
    log(f"photo sets (seed {PHOTO_SEED}): {sizes}; each checkout's shipped models read the same files")
    made = run_worker("make", dict(data=str(data), seed=PHOTO_SEED, **sizes), REPO, log)
    runs: dict = {"seed": PHOTO_SEED, "sizes": sizes, "make": made, "checkouts": {}}
    if "error" in made:
        return [], runs
    manifest = json.loads((data / "manifest.json").read_text())
    checkouts = {"after": REPO}
    if cfg.photos_before:
        checkouts["before"] = Path(cfg.photos_before).resolve()
    for label, checkout in checkouts.items():
        result = run_worker("read", dict(data=str(data), checkout=str(checkout), threads=threads), checkout, log)
        entry = {"checkout": str(checkout), "commit": _commit(checkout)}
        if "error" in result:
            entry["error"] = result["error"]
        else:
            entry["numbers"] = result["numbers"]
            entry["scores"] = {model: score(manifest, said) for model, said in result["predictions"].items()}
        runs["checkouts"][label] = entry
    return _figures(runs["checkouts"].get("after", {})), runs


def _commit(checkout: Path) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    commit = proc.stdout.strip() or "unknown"
    try:  # the code measured is the commit plus the tree's edits, if any
        dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        dirty = ""
    return commit + (" + edits" if dirty else "")


def _figures(after: dict) -> list[Figure]:
    figures = []
    for model, rows in sorted(after.get("scores", {}).items()):
        for key, name in (("uci", "UCI 8x8 accuracy"), ("numbers", "whole-number accuracy"),
                          ("paper: all pages with a digit", "notebook-paper accuracy")):
            value = rate(rows.get(key))
            goal = GOALS.get(key) if model == BEST_MODEL else None
            figures.append(Figure(f"{model} {name} (seed {PHOTO_SEED})", "%", None if value is None else 100 * value,
                                  "", None, None, None, "" if goal is None else f">= {100 * goal:.0f} %",
                                  None if goal is None or value is None else value >= goal))
    return figures


def _cell(rows: dict | None, key: str, digits: bool = False) -> str:
    row = (rows or {}).get(key)
    value = digit_accuracy(row) if digits else rate(row)
    if value is None:
        return "n/a"
    if digits:
        return f"{100 * value:.1f}% ({row['digits'] - row['errors']}/{row['digits']})"
    extra = f", {row['not_found']} no digit" if row.get("not_found") else ""
    return f"{100 * value:.1f}% ({row['right']}/{row['count']}{extra})"


def render(runs: dict) -> str:
    """Markdown: one row per set (or page kind), a column per checkout and model; UCI per class."""
    columns = [(label, model, entry) for label, entry in runs["checkouts"].items()
               for model in sorted(entry.get("scores", {}))]
    failed = [f"{label} ({entry['checkout']}): {entry['error']}" for label, entry in runs["checkouts"].items()
              if "error" in entry]
    if "error" in runs.get("make", {}):
        failed.insert(0, f"making the sets: {runs['make']['error']}")
    sizes = ", ".join(f"{name} {count or 'all'}" for name, count in runs["sizes"].items())
    lines = [f"Photo sets, seed {runs['seed']} ({sizes}):"]
    lines += [f"- {label}: {entry['checkout']} at {entry['commit']}, numbers read by {entry.get('numbers', 'n/a')}"
              for label, entry in runs["checkouts"].items()]
    lines += [f"- failed: {line}" for line in failed]
    if not columns:
        return "\n".join(lines)
    keys = sorted({key for _, _, entry in columns for rows in entry["scores"].values() for key in rows
                   if not key.startswith("uci ")}, key=_order)
    lines += ["", "| Set | " + " | ".join(f"{model} ({label}, {entry['commit']})" for label, model, entry in columns)
              + " |", "|---|" + "---|" * len(columns)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_cell(entry["scores"][model], key) for _, model, entry in columns)
                     + " |")
    lines.append("| numbers: digit accuracy (1 - edit distance / digits) | " + " | ".join(
        _cell(entry["scores"][model], "numbers", digits=True) for _, model, entry in columns) + " |")
    lines += ["", "| UCI 8x8 per class (%) | All | " + " | ".join(str(d) for d in range(10)) + " |",
              "|---|---|" + "---|" * 10]
    for label, model, entry in columns:
        rows = entry["scores"][model]
        lines.append(f"| {model} ({label}, {entry['commit']}) | {_cell(rows, 'uci').split(' ')[0]} | " + " | ".join(
            "n/a" if rate(rows.get(f"uci {d}")) is None else f"{100 * rate(rows[f'uci {d}']):.0f}" for d in range(10))
            + " |")
    return "\n".join(lines)


def _order(key: str) -> tuple:
    from ..synthetic import PAPER_KINDS

    fixed = ["photos", "paper: all pages with a digit"] + [f"paper: {kind}" for kind in PAPER_KINDS] + [
        "paper: blank pages (no digit found)", "uci", "numbers"]
    return (fixed.index(key), key) if key in fixed else (len(fixed), key)
