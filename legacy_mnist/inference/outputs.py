"""infer's output rows: the book's text line, CSV, JSON (for digits, and for numbers with `--number`).

Not run directly; `python -m legacy_mnist.infer [--number] --format text|csv|json` writes through it.
"""
from __future__ import annotations

import csv
import json
import sys
from typing import Iterable

from .interrupts import RowGuard
from .spreadsheet import cell
from .numbers import NumberPrediction
from .predict import Prediction


OUTPUT_FORMATS = ("text", "csv", "json")


def format_text(result: Prediction) -> str:
    """The book's line, with the probability (and the top-k list when asked for more than one)."""
    line = f"Inference result of {result.path} is: {result.digit} (probability {result.probability:.4f}"
    if len(result.top_k) > 1:
        line += f"; top-{len(result.top_k)}: " + ", ".join(f"{d}={p:.4f}" for d, p in result.top_k)
    return line + ")"


def format_number_text(result: NumberPrediction) -> str:
    """The book's line with the number in the digit's place, its confidence and each digit's probability."""
    digits = ", ".join(f"{d}={p:.4f}" for d, p in zip(result.digits, result.probabilities))
    return f"Inference result of {result.path} is: {result.number} (confidence {result.confidence:.4f}; digits {digits})"


NUMBER_CSV_HEADER = ["path", "number", "confidence", "digit_probabilities", "error"]


def number_csv_row(result: NumberPrediction) -> list:
    """`digit_probabilities`: each digit's probability, left to right, separated by spaces."""
    if not result.ok:
        return [cell(result.path), "", "", "", cell(result.error)]
    return [cell(result.path), result.number, f"{result.confidence:.6f}",
            " ".join(f"{p:.6f}" for p in result.probabilities), ""]


def number_json_record(result: NumberPrediction) -> dict:
    return {
        "path": cell(result.path),
        "number": result.number,
        "confidence": result.confidence,
        "digits": [{"digit": d, "probability": p, "probabilities": row}
                   for d, p, row in zip(result.digits, result.probabilities, result.rows)],
        "error": cell(result.error),
    }


def csv_header(top_k: int) -> list[str]:
    extra = [name for i in range(2, top_k + 1) for name in (f"digit_{i}", f"probability_{i}")]
    return ["path", "digit", "probability", *extra, "error"]


def csv_row(result: Prediction, top_k: int) -> list:
    row: list = [cell(result.path)]
    for i in range(top_k):
        if i < len(result.top_k):
            row += [result.top_k[i][0], f"{result.top_k[i][1]:.6f}"]
        else:
            row += ["", ""]
    return row + [cell(result.error) or ""]


def json_record(result: Prediction) -> dict:
    return {
        "path": cell(result.path),
        "digit": result.digit,
        "probability": result.probability,
        "top_k": [{"digit": d, "probability": p} for d, p in result.top_k],
        "error": cell(result.error),
    }


def write_results(results: Iterable[Prediction | NumberPrediction], fmt: str, top_k: int, out=None, err=None,
                  guard: RowGuard | None = None, numbers: bool = False) -> tuple[int, int]:
    """Stream results to `out` as they come (errors of text output go to `err`); return (total, failed).

    `numbers`: the results are NumberPredictions (`--number`), with their own columns and fields.
    Each row is written and flushed whole; with a `guard`, a SIGINT/SIGTERM stops the run between rows.
    """
    text, row, record = ((format_number_text, lambda r, k: number_csv_row(r), number_json_record) if numbers
                         else (format_text, csv_row, json_record))
    out = out or sys.stdout
    err = err or sys.stderr
    guard = guard or RowGuard()
    total = failed = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    with guard.row():
        if writer:
            writer.writerow(NUMBER_CSV_HEADER if numbers else csv_header(top_k))
        if fmt == "json":
            out.write("[")
        out.flush()
    for result in results:
        with guard.row():
            if fmt == "text":
                if result.ok:
                    print(text(result), file=out, flush=True)
                else:
                    print(f"error: {result.error}", file=err, flush=True)
            elif writer:
                writer.writerow(row(result, top_k))
            else:
                out.write(("\n  " if total == 0 else ",\n  ") + json.dumps(record(result)))
            out.flush()
        total += 1
        failed += 0 if result.ok else 1
    with guard.row():
        if fmt == "json":
            out.write("\n]\n" if total else "]\n")
        out.flush()
    return total, failed
