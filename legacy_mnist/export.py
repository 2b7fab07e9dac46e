"""Export a trained program as an inference model (the book's contract: `img` -> softmax probabilities).

Run:  python -m legacy_mnist.export --model-dir inference_model/cnn --onnx cnn.onnx
(`train` calls `export_inference_model` itself; the command line converts an export to ONNX.)
Why this is long: the export, the op-form rewrite for older runtimes (fc as matmul), the ONNX conversion and
the command: splits.md moves the op-form rewrite out.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .common.atomic import check_output, staged_dir, write_output
from .exported.checksums import CHECKSUM_FILE, checksum_lines
from .errors import ArgumentParser, EXIT_OK, ModelError, UserError, run_cli
from .common.extras import require
from .exported.model_files import ModelFiles, find_model_files
from .exported.model_vetting import vet_onnx_model
from .common.native_output import native_output_captured
from .normalize import to_model_input
from .paddle_env import configure_logging, import_paddle, ir_guard
from .exported.op_forms import ONNX_OPSET, ONNX_OPSETS, check_opset, fc_as_matmul, paddle_to_onnx_bytes  # noqa: F401

MODEL_PREFIX = "model"  # files: model.pdmodel + model.pdiparams (legacy IR) or model.json (PIR)
INPUT_NAME = "img"


def export_inference_model(
    save_dir: str | Path,
    feed_vars,
    fetch_vars,
    executor,
    program,
    *,
    ir: str = "legacy",
    extra_files: Mapping[str, bytes | str] | None = None,
) -> Path:
    """Save `program` pruned to `feed_vars -> fetch_vars` into `save_dir`, replacing it atomically.

    `extra_files` (name -> content), e.g. metrics.json and the training curves, are written into the same
    directory before it is swapped in, so an export and its metadata always belong together. The model
    files' SHA-256 go into SHA256SUMS, which the loader checks (a damaged tensor would still load).
    """
    paddle = import_paddle()
    with staged_dir(save_dir) as staged:
        with ir_guard(ir):
            paddle.static.save_inference_model(
                str(staged / MODEL_PREFIX), list(feed_vars), list(fetch_vars), executor, program=program
            )
        if ir == "legacy":
            program_file = staged / f"{MODEL_PREFIX}.pdmodel"
            _drop_creation_stacks(program_file)
            program_file.write_bytes(fc_as_matmul(program_file.read_bytes()))
        model_names = sorted(p.name for p in staged.iterdir() if p.name.startswith(f"{MODEL_PREFIX}."))
        (staged / CHECKSUM_FILE).write_text(checksum_lines(staged, model_names), "utf-8")
        for name, content in (extra_files or {}).items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (staged / name).write_bytes(data)
    return Path(save_dir)


def _drop_creation_stacks(model_file: Path) -> None:
    """Empty the `op_callstack` of every op in a saved .pdmodel.

    `save_inference_model` records the Python stack, with this machine's absolute paths, on the feed and
    fetch ops it adds: the export would name the build directory, and the same training run elsewhere would
    give other bytes. The attribute stays (empty), so every loader sees the program it expects.
    """
    from paddle.base.proto import framework_pb2

    desc = framework_pb2.ProgramDesc()
    desc.ParseFromString(model_file.read_bytes())
    for block in desc.blocks:
        for op in block.ops:
            for attr in op.attrs:
                if attr.name == "op_callstack":
                    del attr.strings[:]
    model_file.write_bytes(desc.SerializeToString())


def write_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


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
