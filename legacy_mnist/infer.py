"""Predict handwritten digits in image files with an exported model (needs no network or training code).

Run:  python -m legacy_mnist.infer photo.jpg scans/ 'more/*.png'  [--format csv|json] [--top-k 3]
      python -m legacy_mnist.infer -r scans/      (subdirectories too);  cat photo.png | ... infer -
      python -m legacy_mnist.infer --demo        (a few MNIST test digits, written as PNG files first)
      python -m legacy_mnist.infer --number photo.jpg   (each image as a written number: "4071", per digit)

The model is read only from its exported files (model.pdmodel + model.pdiparams, model.json +
model.pdiparams, or model.onnx) and run by OpenVINO, the Paddle Inference predictor, ONNX Runtime or
Paddle's Executor (legacy_mnist/inference/backends.py): by default the fastest one installed. Input contract: `img`, float32 [N, 1, 28, 28] in [-1, 1]; output: softmax [N, 10].
Exit status: 0 all files predicted, 1 some file failed (each reported on its own line), 2 bad arguments
or model.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .inference.backends import BACKENDS, NUM_CLASSES, PRECISIONS, Model
from .errors import ArgumentParser, EXIT_FAILURE, EXIT_OK, run_cli
from .inference.interrupts import RowGuard
from .exported.model_files import DEFAULT_MODEL_NAME
from .paddle_env import configure_logging
from .preprocess import DEFAULT_MAX_PIXELS, PREPROCESS_MODES
from .inference.files import STDIN, read_stdin_image
from .inference.loading import load_model
from .inference.predict import DEFAULT_BATCH_SIZE, _named_stdin, iter_predictions
from .inference.predict import Prediction, predict_files  # noqa: F401  the documented API (docs/usage.md)
from .inference.numbers import NoNumberError, NumberPrediction, predict_number, predict_numbers  # noqa: F401  the same
from .inference.numbers import iter_number_predictions, named_stdin
from .inference.outputs import OUTPUT_FORMATS, write_results


DEMO_COUNT = 10


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
                             "installed for the request, by the bench's runtimes section: openvino; without it "
                             "predictor, or onnx for an .onnx model)")
    parser.add_argument("--precision", choices=PRECISIONS, default="f32",
                        help="arithmetic: f32 answers as Paddle does (to 1e-5); bf16 runs the openvino backend "
                             "in bfloat16 on a CPU with bf16 instructions: about 2x the batch throughput, "
                             "probabilities within ~3e-2 (the same test accuracy and digits, docs/deployment.md) "
                             "(default: f32)")
    parser.add_argument("--preprocess", choices=PREPROCESS_MODES, default="auto",
                        help="auto: photos/scans to MNIST-like digits; book: the tutorial's resize (default: auto)")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--top-k", type=int, default=1, help="report the K most likely digits, 1-10 (default: 1)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="images held in memory and predicted together; with --number each page is one "
                             "model call of its own digits and this has no effect (decoding and segmenting a "
                             f"page take ~100x its model call) (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse images with more pixels than this (default: {DEFAULT_MAX_PIXELS})")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of the predictor/onnx/openvino backends; openvino runs batches as one "
                             "single-thread stream per thread (default: every available core)")
    parser.add_argument("--number", action="store_true",
                        help="read each image as a written number (one line of digits, touching or spaced): the "
                             "number, each digit's probability and the lowest as its confidence; needs "
                             "--preprocess auto, and --top-k 1 (the JSON has every digit's 10 probabilities) "
                             "(default: off, one digit per image)")
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
    if args.number and args.preprocess != "auto":
        parser.error("--number reads the page with --preprocess auto only (book squashes the whole page to 28x28)")
    if args.number and args.top_k != 1:
        parser.error("--number reports each digit's probability; --top-k applies to single digits only "
                     "(--format json has each digit's 10 probabilities)")
    paddle_logs = args.verbose >= 2
    configure_logging(paddle_logs)
    # Names that are not valid UTF-8 reach us as surrogate escapes: print them back as the original bytes
    # rather than fail mid-run under a strict UTF-8 locale.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="surrogateescape")
    model = load_model(args.model_dir, args.backend, name=args.model, threads=args.threads, verbose=paddle_logs,
                       images=1 if _one_image(args) else None, precision=args.precision)
    guard = RowGuard().install()  # after Paddle's import, whose own SIGTERM handler prints a C++ stack
    report_model(model, args.quiet)
    with tempfile.TemporaryDirectory(prefix="legacy_mnist_demo_") as tmp:
        inputs = list(args.inputs)
        stdin_file = read_stdin_image(Path(tmp)) if STDIN in inputs else None
        inputs = [str(stdin_file) if item == STDIN else item for item in inputs]
        if args.demo:
            say = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
            inputs += [str(p) for p in write_demo_images(Path(tmp), log=say)]
        if args.number:
            results = iter_number_predictions(inputs, model, args.max_pixels, args.recursive)
            rename = named_stdin
        else:
            results = iter_predictions(inputs, model, args.preprocess, args.top_k, args.batch_size, args.max_pixels,
                                       args.recursive)
            rename = _named_stdin
        if stdin_file is not None:
            results = (rename(result, stdin_file) for result in results)
        total, failed = write_results(results, args.format, args.top_k, guard=guard, numbers=args.number)
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
