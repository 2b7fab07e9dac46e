"""Predict handwritten digits in image files with an exported model (needs no network or training code).

Run:  python -m legacy_mnist.infer photo.jpg scans/ 'more/*.png'  [--format csv|json] [--top-k 3]
      python -m legacy_mnist.infer -r scans/      (subdirectories too);  cat photo.png | ... infer -
      python -m legacy_mnist.infer --demo        (a few MNIST test digits, written as PNG files first)

The model is read only from its exported files (model.pdmodel + model.pdiparams, model.json +
model.pdiparams, or model.onnx) and run by OpenVINO, the Paddle Inference predictor, ONNX Runtime or
Paddle's Executor (legacy_mnist/inference/backends.py): by default the fastest one installed. Input contract: `img`, float32 [N, 1, 28, 28] in [-1, 1]; output: softmax [N, 10].
Exit status: 0 all files predicted, 1 some file failed (each reported on its own line), 2 bad arguments
or model.
Why this is long: the backends, file walking, output rows and the command: splits.md divides it into
inference/ modules.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .inference.backends import (BACKENDS, NUM_CLASSES, OPTIONAL_MODULE, RUNS_FORMAT, ExecutorModel, Model,  # noqa: F401
                       OnnxModel, OpenVinoModel, PredictorModel, create_model, default_backend, installed)
from .errors import ArgumentParser, EXIT_FAILURE, EXIT_OK, DataError, ModelError, UserError, run_cli
from .common.extras import missing_message
from .common.input_checks import check_threads, is_int
from .inference.interrupts import RowGuard
from .exported.model_files import DEFAULT_MODEL_NAME, ModelFiles, find_model_files, resolve_model
from .exported.model_reading import read_vetted
from .normalize import to_model_input
from .paddle_env import configure_logging, import_paddle
from .inference.image_files import first_line
from .preprocess import DEFAULT_MAX_PIXELS, PREPROCESS_MODES, preprocess_file
from .inference.spreadsheet import cell

OUTPUT_FORMATS = ("text", "csv", "json")
DEFAULT_BATCH_SIZE = 64  # images held in memory at once while predicting a long list of files
DEMO_COUNT = 10
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm")


def load_model(
    model_dir: str | os.PathLike | None = None,
    backend: str | None = None,
    *,
    name: str | None = None,
    threads: int | None = None,
    verbose: bool = False,
    images: int | None = None,
) -> Model:
    """Load an export (directory or model file) behind `backend`; without `model_dir`, the model `name`
    (default cnn): ./inference_model/<name>/ when it holds an export, else the shipped one.

    `backend` None picks the fastest installed backend that runs the file's format, for requests of `images`
    images (1: one image; None or more: batches), by the measured ranking `backends.DEFAULT_ORDER`
    (docs/benchmarks.md); when that one cannot read the export, the next one. Raises ModelError (one line)
    for a missing/incomplete/corrupt export, a model that does not honour the contract, or a backend whose
    optional runtime is not installed (naming the extra).
    """
    if backend is not None and backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend is not None and not installed(backend):
        raise ModelError(missing_message(OPTIONAL_MODULE[backend], f"the {backend} backend"))
    configure_logging(verbose)
    choice = resolve_model(model_dir, name)
    kind = {None: None, "onnx": "onnx", "openvino": None}.get(backend, "paddle")
    threads = check_threads(threads, "threads")
    files = find_model_files(choice.path, kind)
    if files.format == "pir":
        _require_paddle3(files)
    vetted = read_vetted(files)  # first: bytes read once, checksummed and vetted before any native code
    if backend is not None:
        candidates = [backend]
    else:
        first = default_backend(files.format, images)
        candidates = [first] + [b for b in RUNS_FORMAT[files.format] if b != first and installed(b)
                                and RUNS_FORMAT[files.format].index(b) > RUNS_FORMAT[files.format].index(first)]
    for index, candidate in enumerate(candidates):
        try:
            model = create_model(vetted, candidate, threads, verbose)
            model.choice = choice
            return model.check_contract()
        except ModelError:
            if index == len(candidates) - 1:
                raise
    raise AssertionError("unreachable")


def _require_paddle3(files: ModelFiles) -> None:
    version = import_paddle().__version__
    major = version.split(".")[0]
    if major.isdigit() and int(major) < 3:
        raise ModelError(f"{files.model}: a PIR (.json) export needs Paddle 3.x, this is Paddle {version}")


# ------------------------------------------------------------------------------------------ prediction
@dataclass
class Prediction:
    path: str
    digit: int | None = None  # None when the file failed
    probability: float | None = None
    top_k: list = field(default_factory=list)  # [(digit, probability), ...] best first
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _directory_images(directory: Path, text: str, recursive: bool = False) -> Iterator[tuple[str, str | None]]:
    """A directory's image files, sorted (with `recursive`, its subdirectories' too, in path order, never
    through a symlinked directory); an image-named entry that cannot be read (a symlink loop, a dangling
    link) comes out with an error instead of stopping the run."""
    found = False
    for path, error in _walk_images(directory, text, recursive):
        found = found or error is None
        yield path, error
    if not found:
        where = "this directory tree" if recursive else "this directory"
        yield text, f"{text}: no image files in {where} ({', '.join(IMAGE_SUFFIXES[:4])}, ...)"


def _walk_images(directory: Path, text: str, recursive: bool) -> Iterator[tuple[str, str | None]]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield text, f"{text}: cannot list this directory ({exc.strerror or exc})"
        return
    for entry in entries:
        path = str(directory / entry.name)
        if recursive and entry.is_dir(follow_symlinks=False):
            yield from _walk_images(directory / entry.name, path, recursive)
            continue
        if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            if entry.is_file():
                yield path, None
            elif not entry.is_dir():
                yield path, f"{path}: {'broken symbolic link' if entry.is_symlink() else 'not a regular file'}"
        except OSError as exc:  # ELOOP: a symlink loop
            yield path, f"{path}: cannot read ({exc.strerror or exc})"


def _glob_files(pattern: str) -> list[str]:
    """Files matching `pattern`, sorted. `**` does not descend into symlinked directories: glob.glob's does,
    and a link back up the tree (`ln -s . loop`) makes that walk exponential."""
    parts = Path(pattern).parts
    first = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    if "**" in parts[first:]:
        root = Path(*parts[:first]) if first else Path()
        with contextlib.suppress(ValueError, OSError):
            return sorted(str(p) for p in root.glob("/".join(parts[first:])) if p.is_file())
    return sorted(m for m in glob.iglob(pattern) if os.path.isfile(m))


def iter_image_paths(inputs: Iterable[str | os.PathLike], recursive: bool = False) -> Iterator[tuple[str, str | None]]:
    """Expand files, directories (their image files, sorted; `recursive`: and their subdirectories') and glob
    patterns to (path, error) pairs.

    A directory yields only files with an image suffix; a file named explicitly is always tried. Inputs
    that match nothing come out with an error, so they are reported like a bad file. A single str or path
    is one input (not a sequence of characters).
    """
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    for raw in inputs:
        text = os.fsdecode(raw)
        path = Path(text)
        if path.is_dir():
            yield from _directory_images(path, text, recursive)
        elif path.exists():
            yield text, None
        elif glob.has_magic(text):
            files = _glob_files(text)
            if not files:
                yield text, f"{text}: no files match this pattern"
            for match in files:
                yield match, None
        elif os.path.islink(text):
            yield text, f"{text}: broken symbolic link (or a symlink loop)"
        else:
            yield text, f"{text}: no such file"


def _results(paths: list[str], pixels: list[np.ndarray], model: Model, top_k: int) -> list[Prediction]:
    probs = model.predict(to_model_input(np.stack(pixels)))
    results = []
    for path, row in zip(paths, probs):
        order = np.argsort(-row, kind="stable")[:top_k]
        top = [(int(d), float(row[d])) for d in order]
        results.append(Prediction(path, top[0][0], top[0][1], top))
    return results


def iter_predictions(
    inputs: Iterable[str | os.PathLike],
    model: Model,
    preprocess: str = "auto",
    top_k: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    recursive: bool = False,
) -> Iterator[Prediction]:
    """Predict files lazily in input order, at most `batch_size` images in memory at once."""
    if preprocess not in PREPROCESS_MODES:
        raise UserError(f"unknown preprocess mode {preprocess!r}; choose one of {', '.join(PREPROCESS_MODES)}")
    for name, value, low, high in (("top_k", top_k, 1, NUM_CLASSES), ("batch_size", batch_size, 1, 1 << 20),
                                   ("max_pixels", max_pixels, 1, 1 << 40)):
        if not is_int(value) or not low <= value <= high:
            raise UserError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    if not isinstance(model, Model):
        raise UserError(f"model must be a loaded Model (legacy_mnist.infer.load_model), got {type(model).__name__}")
    pending: list[Prediction | tuple[str, np.ndarray]] = []

    def flush() -> list[Prediction]:
        ready = [item for item in pending if isinstance(item, tuple)]
        done = iter(_results([p for p, _ in ready], [a for _, a in ready], model, top_k) if ready else [])
        out = [item if isinstance(item, Prediction) else next(done) for item in pending]
        pending.clear()
        return out

    count = 0
    for path, error in iter_image_paths(inputs, recursive):
        if error is None:
            try:
                pending.append((path, preprocess_file(path, preprocess, max_pixels)))
                count += 1
            except DataError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - one file's surprise is that file's row, not the run's end
                error = f"{path}: cannot read this image ({type(exc).__name__}: {first_line(exc)})"
        if error is not None:
            pending.append(Prediction(path, error=error))
        if count >= batch_size:
            yield from flush()
            count = 0
    yield from flush()


def predict_files(
    paths: Iterable[str | os.PathLike],
    model: Model | str | os.PathLike,
    preprocess: str = "auto",
    top_k: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    recursive: bool = False,
) -> list[Prediction]:
    """Predict image files, directories and globs; a bad file gets `error` set, the others a digit."""
    if not isinstance(model, Model):
        model = load_model(model)
    return list(iter_predictions(paths, model, preprocess, top_k, batch_size, max_pixels, recursive))


# ---------------------------------------------------------------------------------------------- output
def format_text(result: Prediction) -> str:
    """The book's line, with the probability (and the top-k list when asked for more than one)."""
    line = f"Inference result of {result.path} is: {result.digit} (probability {result.probability:.4f}"
    if len(result.top_k) > 1:
        line += f"; top-{len(result.top_k)}: " + ", ".join(f"{d}={p:.4f}" for d, p in result.top_k)
    return line + ")"


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


def write_results(results: Iterable[Prediction], fmt: str, top_k: int, out=None, err=None,
                  guard: RowGuard | None = None) -> tuple[int, int]:
    """Stream results to `out` as they come (errors of text output go to `err`); return (total, failed).

    Each row is written and flushed whole; with a `guard`, a SIGINT/SIGTERM stops the run between rows.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    guard = guard or RowGuard()
    total = failed = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    with guard.row():
        if writer:
            writer.writerow(csv_header(top_k))
        if fmt == "json":
            out.write("[")
        out.flush()
    for result in results:
        with guard.row():
            if fmt == "text":
                if result.ok:
                    print(format_text(result), file=out, flush=True)
                else:
                    print(f"error: {result.error}", file=err, flush=True)
            elif writer:
                writer.writerow(csv_row(result, top_k))
            else:
                out.write(("\n  " if total == 0 else ",\n  ") + json.dumps(json_record(result)))
            out.flush()
        total += 1
        failed += 0 if result.ok else 1
    with guard.row():
        if fmt == "json":
            out.write("\n]\n" if total else "]\n")
        out.flush()
    return total, failed


# ------------------------------------------------------------------------------------------------ demo
def write_demo_images(directory: Path, count: int = DEMO_COUNT, log=None) -> list[Path]:
    """The first `count` MNIST test digits as PNG files named with their true label; `log` gets the line
    saying where MNIST came from (stdout is for results)."""
    from PIL import Image

    from .dataset import load_split

    split = load_split("test", log=log or (lambda line: None))
    paths = []
    for index in range(min(count, len(split.labels))):
        path = directory / f"mnist-test-{index:02d}-label{int(split.labels[index])}.png"
        Image.fromarray(np.asarray(split.images[index], dtype=np.uint8), "L").save(path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------- stdin
STDIN = "-"
MAX_STDIN_BYTES = 64 << 20  # far above any photo of a digit; a stream without end must not fill the disk


def read_stdin_image(directory: Path) -> Path:
    """Copy one image from standard input into `directory` (the file preprocessing opens); UserError when
    there is none or it is implausibly large."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or sys.stdin.isatty():
        raise UserError("-: standard input is a terminal, not an image (e.g. `cat photo.png | ... infer -`)")
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise UserError(f"-: standard input holds more than {MAX_STDIN_BYTES >> 20} MB, not one image")
    path = directory / "stdin"
    path.write_bytes(data)
    return path


def _named_stdin(result: Prediction, stdin_file: Path) -> Prediction:
    """Report the image read from standard input as `-`, in the result and in its error message."""
    if result.path != str(stdin_file):
        return result
    error = result.error.replace(str(stdin_file), STDIN) if result.error else None
    return Prediction(STDIN, result.digit, result.probability, result.top_k, error)


# ------------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m legacy_mnist.infer",
        description="Predict the handwritten digit in each image file with an exported model.",
    )
    parser.add_argument("inputs", nargs="*", metavar="PATH",
                        help="image files, directories or glob patterns; - reads one image from standard input")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also predict the images in subdirectories of a directory (default: off)")
    add_model_arguments(parser)
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="how to run the model: openvino and onnx need their extras (default: the fastest "
                             "installed for the request: openvino, else predictor, or onnx for an .onnx model)")
    parser.add_argument("--preprocess", choices=PREPROCESS_MODES, default="auto",
                        help="auto: photos/scans to MNIST-like digits; book: the tutorial's resize (default: auto)")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--top-k", type=int, default=1, help="report the K most likely digits, 1-10 (default: 1)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"images held in memory and predicted together (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse images with more pixels than this (default: {DEFAULT_MAX_PIXELS})")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the predictor/onnx backends (default: every available core)")
    parser.add_argument("--demo", action="store_true",
                        help=f"predict the first {DEMO_COUNT} MNIST test digits, written as PNG files (default: off)")
    add_verbosity_arguments(parser)
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model-dir and --model, shared by infer and evaluate."""
    parser.add_argument("--model-dir", default=None,
                        help="export directory or model file (.pdmodel, .json, .onnx); overrides --model (default: none)")
    parser.add_argument("--model", default=DEFAULT_MODEL_NAME, metavar="NAME",
                        help="model name: ./inference_model/NAME/ when it holds an export (what train writes), "
                             f"else the one shipped with the package (default: {DEFAULT_MODEL_NAME})")


def add_verbosity_arguments(parser: argparse.ArgumentParser) -> None:
    """-q / -v / -vv, shared by infer and evaluate."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="do not print the 'model: ...' line on stderr (default: print it)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v: also say where the data came from; -vv: also Paddle's own log output (default: off)")


def report_model(model: Model, quiet: bool) -> None:
    if not quiet:
        print(model.describe(), file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.inputs and not args.demo:
        parser.error("give image files, directories or globs, - for standard input, or --demo")
    if args.inputs.count(STDIN) > 1:
        parser.error("- (standard input) can be given only once: it holds one image")
    if not 1 <= args.top_k <= NUM_CLASSES:
        parser.error(f"--top-k must be between 1 and {NUM_CLASSES}")
    if args.batch_size < 1 or args.max_pixels < 1:
        parser.error("--batch-size and --max-pixels must be positive")
    paddle_logs = args.verbose >= 2
    configure_logging(paddle_logs)
    # Names that are not valid UTF-8 reach us as surrogate escapes: print them back as the original bytes
    # rather than fail mid-run under a strict UTF-8 locale.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="surrogateescape")
    model = load_model(args.model_dir, args.backend, name=args.model, threads=args.threads, verbose=paddle_logs,
                       images=1 if _one_image(args) else None)
    guard = RowGuard().install()  # after Paddle's import, whose own SIGTERM handler prints a C++ stack
    report_model(model, args.quiet)
    with tempfile.TemporaryDirectory(prefix="legacy_mnist_demo_") as tmp:
        inputs = list(args.inputs)
        stdin_file = read_stdin_image(Path(tmp)) if STDIN in inputs else None
        inputs = [str(stdin_file) if item == STDIN else item for item in inputs]
        if args.demo:
            say = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
            inputs += [str(p) for p in write_demo_images(Path(tmp), log=say)]
        results = iter_predictions(inputs, model, args.preprocess, args.top_k, args.batch_size, args.max_pixels,
                                   args.recursive)
        if stdin_file is not None:
            results = (_named_stdin(result, stdin_file) for result in results)
        total, failed = write_results(results, args.format, args.top_k, guard=guard)
    if failed and args.format == "text":
        print(f"{failed} of {total} inputs failed", file=sys.stderr)
    return EXIT_FAILURE if failed else EXIT_OK


def _one_image(args) -> bool:
    """Whether this run predicts one image (one file or standard input): the default backend is ranked for it."""
    if args.demo or len(args.inputs) != 1:
        return False
    return args.inputs[0] == STDIN or os.path.isfile(args.inputs[0])


def cli() -> int:
    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(cli())
