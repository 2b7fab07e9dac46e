"""Export a trained program as an inference model (the book's contract: `img` -> softmax probabilities).

Run:  python -m legacy_mnist.export --model-dir inference_model/cnn --onnx cnn.onnx
(`train` calls `export_inference_model` itself; the command line converts an export to ONNX.)
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .common.atomic import check_output, write_output
from .errors import ArgumentParser, EXIT_OK, ModelError, run_cli
from .exported.model_files import find_model_files
from .exported.model_vetting import vet_onnx_model
from .normalize import to_model_input
from .paddle_env import configure_logging
from .exported.op_forms import ONNX_OPSET, ONNX_OPSETS, check_opset, fc_as_matmul, paddle_to_onnx_bytes  # noqa: F401
from .exported.writing import export_inference_model  # noqa: F401  the documented API (docs/usage.md)

# ------------------------------------------------------------------------------------------------ ONNX
ONNX_TOLERANCE = 1e-4  # largest allowed |ONNX Runtime - Paddle| on a probability
DEFAULT_CHECK_IMAGES = 500


@dataclass(frozen=True)
class OnnxReport:
    path: Path
    opset: int
    size_bytes: int
    images: int  # MNIST test images both runtimes predicted
    max_abs_diff: float  # largest |ORT - Paddle| over all probabilities
    same_digit: int  # images where both picked the same digit


def convert_to_onnx(
    model_dir: str | Path,
    onnx_path: str | Path,
    check_images: np.ndarray,
    *,
    opset: int = ONNX_OPSET,
    tolerance: float = ONNX_TOLERANCE,
    verbose: bool = False,
) -> OnnxReport:
    """Convert an export to ONNX, check ONNX Runtime against Paddle on `check_images`, write atomically.

    `check_images` are uint8 [N, 28, 28] digits (e.g. MNIST test images). Nothing is written when the two
    runtimes disagree by more than `tolerance` on any probability (ModelError).
    """
    import onnxruntime

    from .inference.loading import load_model  # the deployment loader: the same code that will run the file

    files = find_model_files(model_dir, "paddle")
    check_opset(opset)
    reference = load_model(files.model, "executor")  # first: checksums and vetting before paddle2onnx parses it
    with reference.vetted.private_copy() as vetted_files:
        data = paddle_to_onnx_bytes(vetted_files, opset, verbose)
    vet_onnx_model(data, f"{onnx_path} (converted)")  # what `infer --backend onnx` will accept later
    batch = to_model_input(check_images)
    expected = reference.predict(batch)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 0 if verbose else 3
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: batch})[0]
    if got.shape != expected.shape:
        raise ModelError(f"{files.model}: ONNX output shape {list(got.shape)} != Paddle's {list(expected.shape)}")
    diff = float(np.max(np.abs(got - expected))) if len(batch) else 0.0
    same = int(np.sum(got.argmax(axis=1) == expected.argmax(axis=1)))
    if not diff <= tolerance:
        raise ModelError(
            f"{files.model}: ONNX Runtime differs from Paddle by {diff:.3g} (> {tolerance:g}); not written"
        )
    path = write_output(onnx_path, data, "onnx")
    return OnnxReport(path, opset, len(data), len(batch), diff, same)


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m legacy_mnist.export",
        description="Convert an exported model to ONNX and check ONNX Runtime against Paddle.",
    )
    parser.add_argument("--model-dir", required=True, help="export directory or model file (required)")
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write (required)")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET, help=f"ONNX opset version (default: {ONNX_OPSET})")
    parser.add_argument("--check-images", type=int, default=DEFAULT_CHECK_IMAGES,
                        help=f"MNIST test images to compare the runtimes on (default: {DEFAULT_CHECK_IMAGES})")
    parser.add_argument("--tolerance", type=float, default=ONNX_TOLERANCE,
                        help=f"largest allowed probability difference (default: {ONNX_TOLERANCE:g})")
    parser.add_argument("-v", "--verbose", action="store_true", help="show converter and Paddle logs (default: off)")
    args = parser.parse_args(argv)
    if not 1 <= args.check_images <= 10000:
        parser.error("--check-images must be between 1 and 10000 (the MNIST test set)")
    if not 0 <= args.tolerance < 1:  # also refuses NaN
        parser.error(f"--tolerance must be at least 0 and below 1, got {args.tolerance}")
    check_opset(args.opset)
    check_output(args.onnx, "--onnx", directory=False)  # refused now, not after the conversion
    configure_logging(args.verbose)
    from .dataset import load_split

    split = load_split("test", log=(lambda line: print(line, file=sys.stderr)) if args.verbose else (lambda line: None))
    images = split.images[: args.check_images]
    report = convert_to_onnx(args.model_dir, args.onnx, images, opset=args.opset, tolerance=args.tolerance,
                             verbose=args.verbose)
    print(
        f"wrote {report.path} (opset {report.opset}, {report.size_bytes / 1024:.0f} KiB); ONNX Runtime vs "
        f"Paddle on {report.images} MNIST test images: max abs difference {report.max_abs_diff:.3g}, "
        f"same digit on {report.same_digit}/{report.images}"
    )
    return EXIT_OK


def cli() -> int:
    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(cli())
