"""Evaluate an exported model: test accuracy, per-class accuracy, confusion matrix, and pictures of it.

Run:  python -m legacy_mnist.evaluate --model-dir inference_model/cnn --plot confusion.png \
          --misclassified wrong.png --samples samples.png [--format json]
      python -m legacy_mnist.evaluate --photos 500 --preprocess book   (test digits rendered as photos)
      python -m legacy_mnist.evaluate --photos 350 --photo-set paper   (ruled/squared paper, shadows, inks)
      python -m legacy_mnist.evaluate --photos 200 --photo-set numbers   (2-6 digit written numbers, read whole)
      python -m legacy_mnist.evaluate --uci          (UCI's 8x8 digits of other writers, upscaled)

Reads only the exported files (like `infer`). By default the MNIST test split goes straight to the model
(normalised as in training); `--photos N` first renders N test digits as ink-on-paper photos
(`legacy_mnist.synthetic`) and sends them through `--preprocess`, which is how auto vs book is measured;
`--photo-set numbers` writes N numbers of 2-6 test digits (touching to wide) and reads each page
whole (`legacy_mnist.inference.numbers`): whole-number and per-digit accuracy;
`--uci` does the same with the 1,797 UCI digits (`legacy_mnist.dataset.uci`) as dark ink on white 32x32 images.
"""
from __future__ import annotations

import io
import json
import sys
from typing import Sequence

import numpy as np

from .common.atomic import check_output, write_output
from .common.input_checks import check_seed
from .inference.spreadsheet import cell
from .errors import ArgumentParser, EXIT_OK, run_cli
from .infer import add_model_arguments, add_verbosity_arguments, report_model
from .inference.backends import BACKENDS, NUM_CLASSES, PRECISIONS
from .inference.loading import load_model
from .paddle_env import configure_logging
from .preprocess import PREPROCESS_MODES
from .inference.evaluation import DEFAULT_BATCH_SIZE, Evaluation, evaluate, predict_arrays, summarize
from .inference.evaluation import NumberEvaluation, summarize_numbers
from .inference.figures import confusion_png, misclassified_png, samples_png


PHOTO_SETS = ("photos", "paper", "numbers")  # legacy_mnist.synthetic's sets (numbers: read whole, number_readings)


def photo_inputs(images: np.ndarray, labels: np.ndarray, count: int, preprocess: str, seed: int = 0,
                 photo_set: str = "photos"):
    """Render `count` digits as photos (`photo_set` photos: file formats; paper: notebook paper, shadows,
    inks), preprocess them: (uint8 [N, 28, 28], labels, readable mask)."""
    from PIL import Image

    from .preprocess import NoDigitError, preprocess_image
    from .synthetic import make_paper_set, make_photo_set

    if photo_set == "paper":
        photos = make_paper_set(images, labels, count, seed)
    else:
        photos = make_photo_set(images, labels, count, seed)
    pixels = np.zeros((len(photos), 28, 28), dtype=np.uint8)
    readable = np.ones(len(photos), dtype=bool)
    for index, photo in enumerate(photos):
        with Image.open(io.BytesIO(photo.data)) as image:
            try:
                pixels[index] = preprocess_image(image, preprocess)
            except NoDigitError:
                readable[index] = False
    return pixels, np.array([int(p.label) for p in photos], dtype=np.int64), readable


def number_readings(model, images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0) -> NumberEvaluation:
    """Write `count` numbers of 2-6 digits drawn from `images` (`synthetic.make_number_set`, seeded), read
    each page whole with `model`, and score them."""
    from PIL import Image

    from .inference.numbers import NoNumberError, predict_number
    from .synthetic import make_number_set

    pages = make_number_set(images, labels, count, seed)
    readings, rows = [], []
    for page in pages:
        with Image.open(io.BytesIO(page.data)) as image:
            try:
                result = predict_number(model, image)
            except NoNumberError:
                readings.append(None)
                rows.append(None)
                continue
        readings.append(result.number)
        rows.append(result.rows)
    return summarize_numbers([p.label for p in pages], readings, rows)


def uci_inputs(preprocess: str, log=lambda line: None):
    """UCI's 8x8 digits as 32x32 ink-on-paper images, preprocessed: (uint8 [N, 28, 28], labels, readable)."""
    from PIL import Image

    from .dataset.uci import as_paper_images, load_uci_digits
    from .preprocess import NoDigitError, preprocess_image

    digits, labels = load_uci_digits(log=log)
    pixels = np.zeros((len(digits), 28, 28), dtype=np.uint8)
    readable = np.ones(len(digits), dtype=bool)
    for index, paper in enumerate(as_paper_images(digits)):
        try:
            pixels[index] = preprocess_image(Image.fromarray(paper, "L"), preprocess)
        except NoDigitError:
            readable[index] = False
    return pixels, labels, readable


# ---------------------------------------------------------------------------------------------- report
def to_json(result: Evaluation, meta: dict | None = None) -> dict:
    return {
        **(meta or {}),
        "count": result.count,
        "correct": result.correct,
        "accuracy": result.accuracy,
        "unreadable": result.unreadable,
        "per_class": [
            {"digit": d, "accuracy": float(result.per_class_accuracy[d]), "correct": int(result.per_class_correct[d]),
             "support": int(result.support[d])}
            for d in range(NUM_CLASSES)
        ],
        "confusion": result.confusion.tolist(),
    }


def numbers_to_json(result: NumberEvaluation, meta: dict | None = None) -> dict:
    return {
        **(meta or {}),
        "count": result.count,
        "correct": result.correct,
        "accuracy": result.accuracy,
        "wrong_length": result.wrong_length,
        "unreadable": result.unreadable,
        "by_length": [{"length": n, "correct": right, "count": seen, "accuracy": right / seen}
                      for n, (right, seen) in result.by_length.items()],
        "digits": to_json(result.digits),
    }


def format_numbers_text(result: NumberEvaluation, meta: dict | None = None) -> str:
    digits = result.digits
    lines = [f"{key}: {value}" for key, value in (meta or {}).items()]
    lines.append(f"Number accuracy: {result.accuracy:.4f} ({result.correct}/{result.count} numbers read whole)")
    lines.append(f"Digit accuracy: {digits.accuracy:.4f} ({digits.correct}/{digits.count} digits, position by "
                 "position)")
    lines.append(f"Read with the wrong count of digits: {result.wrong_length}; no number found: "
                 f"{result.unreadable} (their digits counted as wrong)")
    lines.append("By length:")
    lines += [f"  {n} digits: {right / seen:.4f} ({right}/{seen})" for n, (right, seen) in result.by_length.items()]
    return "\n".join(lines + _class_lines(digits, "Per-class accuracy (digits of the numbers):"))


def format_text(result: Evaluation, meta: dict | None = None) -> str:
    lines = [f"{key}: {value}" for key, value in (meta or {}).items()]
    lines.append(f"Test accuracy: {result.accuracy:.4f} ({result.correct}/{result.count})")
    if result.unreadable:
        lines.append(f"No digit found in {result.unreadable} images (counted as wrong)")
    return "\n".join(lines + _class_lines(result))


def _class_lines(result: Evaluation, title: str = "Per-class accuracy:") -> list[str]:
    lines = [title]
    for d in range(NUM_CLASSES):
        lines.append(
            f"  {d}: {result.per_class_accuracy[d]:.4f} ({result.per_class_correct[d]}/{result.support[d]})"
        )
    lines.append("Confusion matrix (rows: true digit, columns: predicted digit):")
    lines.append("     " + "".join(f"{d:>6}" for d in range(NUM_CLASSES)))
    for d in range(NUM_CLASSES):
        lines.append(f"  {d}: " + "".join(f"{n:>6}" for n in result.confusion[d]))
    return lines


# ------------------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m legacy_mnist.evaluate",
        description="Report an exported model's MNIST test accuracy, per-class accuracy and confusion matrix.",
    )
    add_model_arguments(parser)
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="how to run the model (default: the fastest installed for batches: openvino; without it "
                             "predictor, or onnx for an .onnx model)")
    parser.add_argument("--precision", choices=PRECISIONS, default="f32",
                        help="arithmetic: f32 answers as Paddle does (to 1e-5); bf16 runs the openvino backend "
                             "in bfloat16 on a CPU with bf16 instructions: about 2x the batch throughput, "
                             "probabilities within ~3e-2 (the same test accuracy and digits, docs/deployment.md) "
                             "(default: f32)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N test images (default: all)")
    parser.add_argument("--photos", type=int, default=0,
                        help="render N test digits as ink-on-paper photos and evaluate those (default: 0 = off)")
    parser.add_argument("--photo-set", choices=PHOTO_SETS, default="photos",
                        help="what --photos renders: photos (file formats, plain paper), paper (ruled and "
                             "squared paper, shadow edges, light gradients, coloured ink, blue pen, pencil) or "
                             "numbers (N written numbers of 2-6 digits, touching to wide, each page read whole: "
                             "number and per-digit accuracy; needs --preprocess auto) (default: photos)")
    parser.add_argument("--uci", action="store_true",
                        help="evaluate on UCI's 1,797 8x8 digits (scikit-learn's copy, fetched once with pip "
                             "download) upscaled to 32x32 paper images (default: off)")
    parser.add_argument("--preprocess", choices=PREPROCESS_MODES, default="auto",
                        help="preprocessing for --photos and --uci (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the --photos renderer (default: 0)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"images per model call (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    parser.add_argument("--output", default=None, help="write the report to this file instead of stdout (default: stdout)")
    parser.add_argument("--plot", metavar="OUT.png", default=None, help="confusion matrix PNG (default: none)")
    parser.add_argument("--misclassified", metavar="OUT.png", default=None,
                        help="gallery PNG of misclassified digits (default: none)")
    parser.add_argument("--samples", metavar="OUT.png", default=None,
                        help="grid PNG of sample images with labels and predictions (default: none)")
    add_verbosity_arguments(parser)
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.photos < 0:
        parser.error("--photos must be >= 0")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.uci and args.photos:
        parser.error("--uci and --photos are separate evaluations; give one")
    check_seed(args.seed, "seed")
    numbers = args.photos and args.photo_set == "numbers"
    if args.photo_set == "numbers" and not args.photos:
        parser.error("--photo-set numbers needs --photos N (how many numbers to write)")
    if numbers and args.preprocess != "auto":
        parser.error("--photo-set numbers reads pages with --preprocess auto only")
    if numbers and (args.misclassified or args.samples):
        parser.error("--misclassified and --samples show single digits; with --photo-set numbers use --plot "
                     "(the confusion matrix of the numbers' digits)")
    for option in ("output", "plot", "misclassified", "samples"):  # refused now, not after the evaluation
        if getattr(args, option):
            check_output(getattr(args, option), f"--{option}", directory=False)
    configure_logging(args.verbose >= 2)
    model = load_model(args.model_dir, args.backend, name=args.model, verbose=args.verbose >= 2,
                       precision=args.precision)
    report_model(model, args.quiet)
    from .dataset import load_split

    split = load_split("test", log=(lambda line: print(line, file=sys.stderr)) if args.verbose else (lambda line: None))
    images, labels = split.images, split.labels
    if args.limit is not None:
        images, labels = images[: args.limit], labels[: args.limit]
    meta = {"model": str(model.files.model), "format": model.files.format, "backend": model.backend,
            "precision": model.precision}
    if args.uci:
        images, labels, readable = uci_inputs(args.preprocess, log=lambda line: print(line, file=sys.stderr))
        if args.limit is not None:
            images, labels, readable = images[: args.limit], labels[: args.limit], readable[: args.limit]
        result = summarize(labels, predict_arrays(model, images, args.batch_size), readable)
        meta["data"] = f"UCI 8x8 digits, {len(labels)} images upscaled to 32x32, preprocess {args.preprocess}"
    elif numbers:
        numbers = number_readings(model, images, labels, args.photos, args.seed)
        result = numbers.digits
        meta["data"] = (f"{numbers.count} numbers of 2-6 MNIST test digits written on paper, touching to wide "
                        f"(seed {args.seed}), read whole")
    elif args.photos:
        images, labels, readable = photo_inputs(images, labels, args.photos, args.preprocess, args.seed,
                                                args.photo_set)
        probs = predict_arrays(model, images, args.batch_size)
        result = summarize(labels, probs, readable)
        kind = "photos" if args.photo_set == "photos" else "pages of notebook paper"
        meta["data"] = (f"{len(labels)} MNIST test digits rendered as {kind} (seed {args.seed}), "
                        f"preprocess {args.preprocess}")
    else:
        result = evaluate(model, images, labels, args.batch_size)
        meta["data"] = f"MNIST test, {len(labels)} images"
    if args.format == "json":  # the model's path is a user's name: inert when the JSON becomes a spreadsheet
        meta = {k: cell(v) if isinstance(v, str) else v for k, v in meta.items()}
        report = json.dumps(numbers_to_json(numbers, meta) if numbers else to_json(result, meta), indent=2) + "\n"
    else:
        report = (format_numbers_text(numbers, meta) if numbers else format_text(result, meta)) + "\n"
    if args.output:
        write_output(args.output, report.encode("utf-8"), "output")
    else:
        sys.stdout.write(report)
    if args.plot:
        write_output(args.plot, confusion_png(result), "plot")
    if args.misclassified:
        write_output(args.misclassified, misclassified_png(images, labels, result), "misclassified")
    if args.samples:
        write_output(args.samples, samples_png(images, labels, result), "samples")
    return EXIT_OK


def cli() -> int:
    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(cli())
