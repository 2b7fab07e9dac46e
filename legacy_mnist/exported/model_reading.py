"""Read an export's files once, check them, and hand those same bytes to the runtime.

Not run directly; `legacy_mnist.infer.load_model` (and so `evaluate` and `export`) reads every model here.
The order is the point: (1) each file is read once, as a regular file of bounded size; (2) SHA256SUMS
is checked against those bytes; (3) the program is vetted in pure Python (`legacy_mnist.exported.model_vetting`:
the op allow-list and the structure) and the parameter file's tensor headers are compared with it. Only
then does native code - Paddle, ONNX Runtime, paddle2onnx - see the bytes, from memory or from a private
copy, never from the user's path again (which could have been swapped in between).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import checksums
from ..errors import ModelError
from .model_files import ModelFiles, read_param_tensors
from .model_vetting import MAX_PROGRAM_BYTES, ProgramInfo, vet_program
from ..common.untrusted import read_regular

MAX_PARAMS_BYTES = 512 << 20  # an MNIST network's weights are a few MB; the shipped cnn's are 0.3 MB
_DTYPE_NAMES = {0: "bool", 1: "int16", 2: "int32", 3: "int64", 4: "float16", 5: "float32", 6: "float64",
                20: "uint8", 21: "int8", 22: "bfloat16", 23: "complex64", 24: "complex128"}


@dataclass(frozen=True)
class VettedModel:
    """An export's bytes, checked: what the runtimes load (never the files again)."""

    files: ModelFiles
    program: bytes
    params: bytes | None  # None for ONNX
    info: ProgramInfo
    checksummed: bool  # SHA256SUMS was there and matched

    @contextlib.contextmanager
    def private_copy(self) -> Iterator[ModelFiles]:
        """The vetted bytes as files in a new private directory, for loaders that only take paths."""
        with tempfile.TemporaryDirectory(prefix="legacy_mnist_model_") as tmp:
            os.chmod(tmp, 0o700)
            # fluid 1.x's `__model__` / `model` (no suffix) is a legacy-IR program: written as model.pdmodel
            model = Path(tmp) / f"model{self.files.model.suffix or '.pdmodel'}"
            model.write_bytes(self.program)
            params = None
            if self.params is not None:
                params = Path(tmp) / "model.pdiparams"
                params.write_bytes(self.params)
            yield ModelFiles(self.files.format, model, params)


def parameter_problem(files: ModelFiles, info: ProgramInfo, params: bytes) -> str | None:
    """Why the parameter file's tensors do not fit the program (None when they do): pure Python."""
    try:
        tensors = read_param_tensors(params)
    except ValueError as exc:
        return f"{files.params}: damaged parameter file ({exc})"
    if files.format == "onnx":
        return None
    wanted = info.parameters
    if len(wanted) != len(tensors):
        return (f"{files.params}: holds {len(tensors)} tensors but {files.model.name} needs {len(wanted)} "
                "(parameters of another model?)")
    for tensor, (dtype, dims) in zip(wanted, tensors):
        if tuple(tensor.dims) != tuple(dims):
            return (f"{files.params}: {tensor.name} is {list(dims)} but {files.model.name} needs {list(tensor.dims)} "
                    "(parameters of another model?)")
        if _DTYPE_NAMES.get(dtype) != tensor.dtype:
            return (f"{files.params}: {tensor.name} holds {_DTYPE_NAMES.get(dtype, dtype)} values but "
                    f"{files.model.name} declares {tensor.dtype}")
    return None


def _read_separate(files: ModelFiles) -> VettedModel:
    """fluid 1.x's `__model__` + one file per variable: vetted first, then the files the vetted program names
    (plain names, checked by the vetting) read once each and joined in name order - the combined layout, so
    everything after (parameter check, private copy, runtimes) is the one path every export takes."""
    program = read_regular(files.model, MAX_PROGRAM_BYTES, ModelError, "digit model's program")
    info = vet_program(program, files.format, str(files.model))
    pieces = {}
    for tensor in info.parameters:
        path = files.directory / tensor.name
        if not path.is_file():
            raise ModelError(f"{path}: missing (the fluid 1.x export's {files.model.name} needs this parameter "
                             "file beside it)")
        pieces[tensor.name] = read_regular(path, MAX_PARAMS_BYTES, ModelError, "digit model's parameter file")
    params = b"".join(pieces[tensor.name] for tensor in info.parameters)
    if not params:
        raise ModelError(f"{files.directory}: the fluid 1.x export has no parameter files")
    checked = checksums.verify(files.directory, {files.model.name: program, **pieces}, required=True)
    problem = parameter_problem(files, info, params)
    if problem:
        raise ModelError(problem)
    if len(info.feeds) != 1 or len(info.fetches) != 1:
        raise ModelError(f"{files.model}: not an MNIST digit model ({len(info.feeds)} inputs, "
                         f"{len(info.fetches)} outputs; expected one input image and one output)")
    return VettedModel(files, program, params, info, checked)


def read_vetted(files: ModelFiles) -> VettedModel:
    """Read, checksum and vet an export (ModelError, one line naming the file, when anything is off)."""
    if files.layout == "separate":
        return _read_separate(files)
    program = read_regular(files.model, MAX_PROGRAM_BYTES if files.format != "onnx" else MAX_PARAMS_BYTES,
                           ModelError, "digit model's program")
    params = None
    if files.params is not None:
        params = read_regular(files.params, MAX_PARAMS_BYTES, ModelError, "digit model's parameter file")
        if not params:
            raise ModelError(f"{files.params}: empty parameters file (interrupted copy?)")
    contents = {files.model.name: program}
    if files.params is not None:
        contents[files.params.name] = params
    try:
        checked = checksums.verify(files.directory, contents, required=files.format != "onnx")
    except ModelError as mismatch:
        # Checked first; but when the structure says why (still pure Python), that is the better message.
        info = vet_program(program, files.format, str(files.model))
        problem = params is not None and parameter_problem(files, info, params)
        raise (ModelError(problem) if problem else mismatch) from None
    info = vet_program(program, files.format, str(files.model))
    if params is not None:
        problem = parameter_problem(files, info, params)
        if problem:
            raise ModelError(problem)
    if len(info.feeds) != 1 or (files.format != "onnx" and len(info.fetches) != 1):
        raise ModelError(f"{files.model}: not an MNIST digit model ({len(info.feeds)} inputs, "
                         f"{len(info.fetches)} outputs; expected one input image and one output)")
    return VettedModel(files, program, params, info, checked)
