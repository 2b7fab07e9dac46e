"""Find an exported model's files, tell their format, and locate the default (shipped) model.

Not run directly; `python -m legacy_mnist.infer --model-dir DIR` (and `evaluate`, `export`) use it.
An export directory holds one of:
  model.pdmodel + model.pdiparams   legacy IR (the default; loads in Paddle 2.x and 3.x)
  model.json    + model.pdiparams   PIR (Paddle 3.x only)
  model.onnx                        ONNX (from `python -m legacy_mnist.export --onnx`)
  __model__ + one file per variable fluid 1.x's save_inference_model (legacy IR, e.g. Paddle 1.8.5)
  model + params, __model__ + __params__, __model_combined__ + __params_combined__
                                    fluid 1.x with model_filename/params_filename (combined parameters)
Paddle 3.x's `load_inference_model` only looks for the format of the IR that is active, so the format is
decided here from the files and the loader switches IR to match.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from .model_vetting import tensor_desc
from .protobuf_wire import WireError

FORMATS = ("legacy", "pir", "onnx")
MODEL_PREFIX = "model"
DEFAULT_MODEL_NAME = "cnn"
_SUFFIX_FORMAT = {".pdmodel": "legacy", ".json": "pir", ".onnx": "onnx"}


@dataclass(frozen=True)
class ModelFiles:
    format: str  # one of FORMATS
    model: Path  # the .pdmodel, .json or .onnx file
    params: Path | None  # the .pdiparams file (None for ONNX, whose weights are inside)
    # "combined": one parameter file; "separate": fluid 1.x's one file per variable, named after it, in
    # `params` (the directory) - model_reading joins them, in name order, into the combined form
    layout: str = "combined"

    @property
    def prefix(self) -> Path:
        """Path without suffix, what `paddle.static.load_inference_model` takes."""
        return self.model.with_suffix("")

    @property
    def directory(self) -> Path:
        return self.model.parent


_CHECKPOINT_HINT = ("a training checkpoint (--checkpoint-dir), not an export; give the export directory "
                    "(--save-dir, default inference_model/<model>/)")


def _paddle_files(model: Path) -> ModelFiles:
    params = model.with_suffix(".pdiparams")
    if not params.is_file():
        if model.with_suffix(".pdparams").is_file():  # paddle.static.save's layout: what train checkpoints
            raise ModelError(f"{model.parent}: {_CHECKPOINT_HINT}")
        raise ModelError(f"{model}: incomplete export, {params.name} is missing beside it")
    return ModelFiles(_SUFFIX_FORMAT[model.suffix], model, params)


FLUID1_PROGRAM = "__model__"
FLUID1_COMBINED = (("__model__", "__params__"), ("model", "params"), ("__model_combined__", "__params_combined__"))


def _fluid1_files(directory: Path, program_name: str | None = None) -> ModelFiles | None:
    """A fluid 1.x export in `directory` (the combined pairs first, then `__model__` + one file per variable)."""
    for model_name, params_name in FLUID1_COMBINED:
        if program_name not in (None, model_name):
            continue
        if (directory / model_name).is_file() and (directory / params_name).is_file():
            return ModelFiles("legacy", directory / model_name, directory / params_name)
    if program_name in (None, FLUID1_PROGRAM) and (directory / FLUID1_PROGRAM).is_file():
        return ModelFiles("legacy", directory / FLUID1_PROGRAM, directory, layout="separate")
    return None


def _from_file(path: Path) -> ModelFiles:
    suffix = path.suffix.lower()
    if not suffix and path.name in {name for name, _ in FLUID1_COMBINED}:
        files = _fluid1_files(path.parent, path.name)
        if files is not None:
            return files
    if suffix == ".onnx":
        return ModelFiles("onnx", path, None)
    if suffix in (".pdmodel", ".json"):
        return _paddle_files(path)
    if suffix == ".pdiparams":
        for sibling in (path.with_suffix(".pdmodel"), path.with_suffix(".json")):
            if sibling.is_file():
                return _paddle_files(sibling)
        raise ModelError(f"{path}: parameters without a program (.pdmodel or .json) beside them")
    raise ModelError(f"{path}: not a model file (expected .pdmodel, .json, .onnx or an export directory)")


def _programs(directory: Path) -> list[Path]:
    """Program files in an export directory: `model.*` first, else any .pdmodel/.onnx/.json with params."""
    named = [directory / f"{MODEL_PREFIX}{suffix}" for suffix in _SUFFIX_FORMAT]
    named = [p for p in named if p.is_file()]
    if named:
        return named
    return sorted(
        p for p in directory.iterdir()
        if p.is_file()
        and (p.suffix in (".pdmodel", ".onnx") or (p.suffix == ".json" and p.with_suffix(".pdiparams").is_file()))
    )


def _from_directory(directory: Path, kind: str | None) -> ModelFiles:
    found: dict[str, ModelFiles] = {}
    problems: list[ModelError] = []
    for program in _programs(directory):
        fmt = _SUFFIX_FORMAT[program.suffix]
        if fmt not in found:
            try:
                found[fmt] = _from_file(program)
            except ModelError as exc:
                problems.append(exc)
    wanted = {"paddle": ("legacy", "pir"), "onnx": ("onnx",), None: ("legacy", "pir", "onnx")}[kind]
    for fmt in wanted:
        if fmt in found:
            return found[fmt]
    if problems:
        raise problems[0]
    if kind == "onnx" and found:
        raise ModelError(f"{directory}: no .onnx file here (make one with `python -m legacy_mnist.export --onnx`)")
    if kind == "paddle" and found:
        raise ModelError(f"{directory}: only an ONNX model here; it runs only on the onnx or openvino backend (--backend onnx)")
    if any((directory / name / "meta.json").is_file() for name in ("last", "best")):
        raise ModelError(f"{directory}: {_CHECKPOINT_HINT}")
    fluid1 = _fluid1_files(directory) if kind != "onnx" else None
    if fluid1 is not None:
        return fluid1
    raise ModelError(
        f"{directory}: no exported model here (expected model.pdmodel + model.pdiparams, "
        "model.json + model.pdiparams, or model.onnx)"
    )


def find_model_files(path: str | Path, kind: str | None = None) -> ModelFiles:
    """Resolve an export directory or a model file to its files and format (ModelError if incomplete).

    `kind` 'paddle' accepts only a Paddle program (legacy before PIR when both are there), 'onnx' only
    an ONNX file; None takes whatever is there, Paddle first.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model directory or file")
    if path.is_dir():
        return _from_directory(path, kind)
    files = _from_file(path)
    if kind == "onnx" and files.format != "onnx":
        raise ModelError(f"{path}: the onnx backend needs an .onnx model file")
    if kind == "paddle" and files.format == "onnx":
        raise ModelError(f"{path}: an .onnx model runs only on the onnx or openvino backend (--backend onnx)")
    return files


def has_model(directory: Path) -> bool:
    try:
        find_model_files(directory)
    except ModelError:
        return False
    return True


# ------------------------------------------------------------------------------------------ lookup
# The models that come with the package (package data, see setup.py); ./inference_model/ holds the user's own.
SHIPPED_MODELS_DIR = Path(__file__).resolve().parents[1] / "shipped_models"
USER_MODELS_DIR = Path("inference_model")  # relative to the current directory, where `train` exports
ORIGINS = ("given", "user", "shipped")  # --model-dir, ./inference_model/<name>/, the package's copy


@dataclass(frozen=True)
class ModelChoice:
    path: Path  # an export directory or a model file
    name: str | None  # the model name looked up (None for an explicit --model-dir)
    origin: str  # one of ORIGINS

    def describe(self) -> str:
        if self.origin == "shipped":
            return f"shipped with legacy_mnist as '{self.name}'"
        if self.origin == "user":
            return f"your export in ./{USER_MODELS_DIR / str(self.name)}/"
        return "given with --model-dir"


def shipped_model_names() -> list[str]:
    """Names of the models shipped inside the package, sorted (each a complete export)."""
    if not SHIPPED_MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_MODELS_DIR.iterdir() if p.is_dir() and has_model(p))


def _check_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ModelError(f"--model {name!r}: a model name, such as {DEFAULT_MODEL_NAME} (use --model-dir for paths)")
    return name


def resolve_model(model_dir: str | Path | None = None, name: str | None = None) -> ModelChoice:
    """Which model to load: `model_dir` when given, else ./inference_model/<name>/ when it holds an export
    (what `python -m legacy_mnist.train` writes), else the shipped <name> (ModelError when neither exists)."""
    if model_dir is not None:
        return ModelChoice(Path(model_dir), None, "given")
    name = _check_name(name or DEFAULT_MODEL_NAME)
    user = Path.cwd() / USER_MODELS_DIR / name
    if user.is_dir() and has_model(user):
        return ModelChoice(user, name, "user")
    shipped = SHIPPED_MODELS_DIR / name
    if shipped.is_dir() and has_model(shipped):
        return ModelChoice(shipped, name, "shipped")
    names = ", ".join(shipped_model_names()) or "none"
    raise ModelError(
        f"no model '{name}': ./{USER_MODELS_DIR / name}/ holds no export and no such model is shipped (shipped: "
        f"{names}); train one with `python -m legacy_mnist.train --model {name}` or pass --model-dir"
    )


def default_model_dir(name: str | None = None) -> Path:
    """The directory `resolve_model(None, name)` picks: the user's export of `name`, else the shipped one."""
    return resolve_model(None, name).path


# ------------------------------------------------------------------------------------ parameter files
# Paddle's combined parameter file (.pdiparams) is a sequence of tensors, in the order of the program's
# persistable variables sorted by name, each: uint32 version, uint64 LoD levels (+ each level's bytes),
# uint32 tensor version, int32 size of a TensorDesc protobuf {1: data type, 2: dims}, then the raw data.
_DTYPE_BYTES = {0: 1, 1: 2, 2: 4, 3: 8, 4: 2, 5: 4, 6: 8, 20: 1, 21: 1, 22: 2, 23: 8, 24: 16}


def _tensor_desc(desc: bytes) -> tuple[int, tuple[int, ...]]:  # (data type, dims)
    try:
        dtype, dims = tensor_desc(desc)
    except WireError as exc:
        raise ValueError(f"bad tensor description ({exc})") from None
    if dtype not in _DTYPE_BYTES:
        raise ValueError(f"unknown tensor data type {dtype}")
    return dtype, dims


def read_param_shapes(path_or_data: str | Path | bytes) -> list[tuple[int, ...]]:
    """The shape of every tensor in a .pdiparams file (or its bytes), in file order (ValueError if damaged)."""
    return [dims for _, dims in read_param_tensors(path_or_data)]


def read_param_tensors(path_or_data: str | Path | bytes) -> list[tuple[int, tuple[int, ...]]]:
    """(Paddle data type code, shape) of every tensor in a .pdiparams file or its bytes, in file order."""
    data = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
    pos, shapes = 0, []

    def take(count: int) -> bytes:
        nonlocal pos
        if pos + count > len(data):
            raise ValueError(f"file ends inside tensor {len(shapes) + 1} (truncated?)")
        chunk = data[pos : pos + count]
        pos += count
        return chunk

    while pos < len(data):
        if int.from_bytes(take(4), "little") != 0:
            raise ValueError(f"tensor {len(shapes) + 1} has an unknown format version (not a Paddle parameter file?)")
        for _ in range(int.from_bytes(take(8), "little")):
            take(int.from_bytes(take(8), "little"))
        if int.from_bytes(take(4), "little") != 0:
            raise ValueError(f"tensor {len(shapes) + 1} has an unknown tensor version")
        desc_size = int.from_bytes(take(4), "little", signed=True)
        if not 0 < desc_size < 4096:
            raise ValueError(f"tensor {len(shapes) + 1} has a bad description size {desc_size}")
        dtype, dims = _tensor_desc(take(desc_size))
        count = 1
        for dim in dims:
            if dim < 0:
                raise ValueError(f"tensor {len(shapes) + 1} has a negative dimension")
            count *= dim
        take(count * _DTYPE_BYTES[dtype])
        shapes.append((dtype, dims))
    return shapes
