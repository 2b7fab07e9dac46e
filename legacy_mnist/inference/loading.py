"""Load an export behind the backend that runs it: the fastest installed one unless named.

Not run directly; `legacy_mnist.infer.load_model` (docs/usage.md) is its public name.
"""
from __future__ import annotations

import os

from .backends import (BACKENDS, OPTIONAL_MODULE, PRECISIONS, RUNS_FORMAT, Model, create_model, default_backend,
                       installed)
from ..errors import ModelError, UserError
from ..common.extras import missing_message
from ..common.input_checks import check_threads
from ..exported.model_files import ModelFiles, find_model_files, resolve_model
from ..exported.model_reading import read_vetted
from ..paddle_env import configure_logging, import_paddle


def load_model(
    model_dir: str | os.PathLike | None = None,
    backend: str | None = None,
    *,
    name: str | None = None,
    threads: int | None = None,
    verbose: bool = False,
    images: int | None = None,
    precision: str = "f32",
) -> Model:
    """Load an export (directory or model file) behind `backend`; without `model_dir`, the model `name`
    (default cnn): ./inference_model/<name>/ when it holds an export, else the shipped one.

    `backend` None picks the fastest installed backend that runs the file's format, for requests of `images`
    images (1: one image; None or more: batches), by the measured ranking `backends.DEFAULT_ORDER`
    (docs/benchmarks.md); when that one cannot read the export, the next one. Raises ModelError (one line)
    for a missing/incomplete/corrupt export, a model that does not honour the contract, or a backend whose
    optional runtime is not installed (naming the extra).

    `precision` "bf16" (openvino only; `backend` None then means openvino): about twice the batch throughput on
    a CPU with bf16 instructions, probabilities within ~3e-2 of f32's (backends.PRECISIONS); UserError on a
    CPU without them.
    """
    if backend is not None and backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision != "f32":
        if backend not in (None, "openvino"):
            raise UserError(f"precision {precision} runs on the openvino backend only, not {backend}")
        backend = "openvino"
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
            model = create_model(vetted, candidate, threads, verbose, precision)
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
