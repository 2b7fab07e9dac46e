"""`fluid.io`: save/load an inference model with the book's directory-based, positional signatures.

Not run directly. `fluid.io.save_inference_model(dirname, ["img"], [prediction], exe)` writes
`dirname/model.pdmodel` + `dirname/model.pdiparams` (the same layout as `legacy_mnist.export`, so
`python -m legacy_mnist.infer` and `paddle.static.load_inference_model(dirname + "/model", exe)` read it),
and `fluid.io.load_inference_model(dirname, exe)` returns `[program, feed_target_names, fetch_targets]`.
A fluid 1.x directory (`__model__` with one file per parameter, or named combined files) loads too.
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path

from ..common.atomic import atomic_write_bytes
from ..errors import ModelError
from ..exported.writing import MODEL_PREFIX
from ._compat import FluidArgumentError, legacy_paddle, module_getattr, warn_once

paddle = legacy_paddle()

MODEL_FILENAME = f"{MODEL_PREFIX}.pdmodel"
PARAMS_FILENAME = f"{MODEL_PREFIX}.pdiparams"
FLUID1_MODEL_FILENAME = "__model__"  # fluid 1.x default; its parameters sat one per file beside it


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _feed_vars(program, feeded_var_names):
    """fluid took feed *names*; modern Paddle takes the Variables. Accept either."""
    feed_vars = []
    for item in _as_list(feeded_var_names):
        if not isinstance(item, str):
            feed_vars.append(item)
            continue
        if not program.global_block().has_var(item):
            raise FluidArgumentError(
                f"save_inference_model: feeded_var_names names {item!r}, which main_program does not have"
            )
        feed_vars.append(program.global_block().var(item))
    if not feed_vars:
        raise FluidArgumentError("save_inference_model: feeded_var_names is empty")
    return feed_vars


def save_inference_model(
    dirname,
    feeded_var_names,
    target_vars,
    executor,
    main_program=None,
    model_filename=None,
    params_filename=None,
    export_for_deployment=True,
    program_only=False,
    clip_extra=True,
):
    """Prune `main_program` to feeds -> `target_vars` and write it with its parameters into `dirname`.

    Files (each written atomically, parameters first): `model_filename` (default model.pdmodel) and
    `params_filename` (default model.pdiparams; fluid's default of one file per parameter is not kept).
    `export_for_deployment=False` saves the whole program instead, as fluid did: `model_filename` (default
    `__model__`) + ".main_program" and every persistable variable (`save_persistables`; one file each
    unless `params_filename`), for re-training; feeds and targets may then be empty. Returns the fetch
    variable names, as fluid did.
    """
    warn_once(
        "fluid.io.save_inference_model",
        "use paddle.static.save_inference_model(path_prefix, feed_vars, fetch_vars, executor, program=...): "
        "it takes a file prefix (writing PREFIX.pdmodel + PREFIX.pdiparams) and feed Variables, not a "
        "directory and feed names",
    )
    program = paddle.static.default_main_program() if main_program is None else main_program
    program = getattr(program, "_program", program)  # a CompiledProgram wraps the Program
    if not export_for_deployment:
        return _save_full_program(dirname, target_vars, executor, program, model_filename, params_filename,
                                  program_only)
    feed_vars = _feed_vars(program, feeded_var_names)
    fetch_vars = _as_list(target_vars)
    directory = Path(dirname)
    if directory.exists() and not directory.is_dir():
        raise ModelError(f"save_inference_model: {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    model_name = model_filename or MODEL_FILENAME
    params_name = params_filename or PARAMS_FILENAME
    # Paddle writes PREFIX.pdmodel/.pdiparams non-atomically: let it write into a hidden scratch
    # directory, then move the bytes into place atomically, parameters before the program.
    with tempfile.TemporaryDirectory(prefix=".save_inference_model.tmp-", dir=directory) as scratch:
        prefix = Path(scratch) / MODEL_PREFIX
        paddle.static.save_inference_model(
            str(prefix), feed_vars, fetch_vars, executor, program=program, clip_extra=clip_extra
        )
        params = prefix.with_suffix(".pdiparams")
        if not program_only and params.exists():
            atomic_write_bytes(directory / params_name, params.read_bytes())
        atomic_write_bytes(directory / model_name, prefix.with_suffix(".pdmodel").read_bytes())
    return [var.name for var in fetch_vars]


def _save_full_program(dirname, target_vars, executor, program, model_filename, params_filename, program_only):
    """fluid's export_for_deployment=False: the unpruned program (MODEL.main_program) and its persistables."""
    directory = _output_dir(dirname, "save_inference_model")
    name = Path(model_filename).name if model_filename else FLUID1_MODEL_FILENAME
    atomic_write_bytes(directory / f"{name}.main_program", program.desc.serialize_to_string())
    if not program_only:
        save_persistables(executor, str(directory), program,
                          Path(params_filename).name if params_filename else None)
    return [var.name for var in _as_list(target_vars) if var is not None]


def _output_dir(dirname, caller: str) -> Path:
    directory = Path(dirname)
    if directory.exists() and not directory.is_dir():
        raise ModelError(f"{caller}: {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _program_or_default(main_program, caller: str):
    program = paddle.static.default_main_program() if main_program is None else main_program
    program = getattr(program, "_program", program)
    if not isinstance(program, paddle.static.Program):
        raise FluidArgumentError(f"{caller}: main_program should be a Program, got {type(main_program).__name__}")
    return program


def is_parameter(var):
    """fluid.io.is_parameter: is `var` a trainable parameter (weights, biases, batch-norm scale/shift)?"""
    return isinstance(var, paddle.base.framework.Parameter)


def is_persistable(var):
    """fluid.io.is_persistable: parameters plus the other state kept across runs (moments, running means, LR)."""
    kind = paddle.base.core.VarDesc.VarType
    if var.desc.type() in (kind.FEED_MINIBATCH, kind.FETCH_LIST, kind.READER):
        return False
    return var.persistable


def save_vars(executor, dirname, main_program=None, vars=None, predicate=None, filename=None):
    """fluid.io.save_vars: `vars` (or those of `main_program` passing `predicate`) into `dirname`.

    One file per variable, named by the variable, unless `filename` (then one combined file): fluid 1.8's
    layout, which 1.8.5's load_vars reads back.
    """
    program = _program_or_default(main_program, "save_vars")
    directory = _output_dir(dirname, "save_vars")
    if vars is None:
        vars = [var for var in program.list_vars() if predicate is None or predicate(var)]
    if not vars:
        return
    # The scratch directory keeps a half-written set of files from replacing good ones.
    with tempfile.TemporaryDirectory(prefix=".save_vars.tmp-", dir=directory) as scratch:
        paddle.static.io.save_vars(executor, scratch, main_program=program, vars=list(vars),
                                   filename=filename)
        for written in sorted(Path(scratch).rglob("*")):
            if written.is_file():
                target = directory / written.relative_to(scratch)
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, written.read_bytes())


def save_params(executor, dirname, main_program=None, filename=None):
    """fluid.io.save_params: the parameters only (no optimizer moments): enough to predict, not to resume."""
    warn_once("fluid.io.save_params", "use paddle.static.save(program, path) (writes PATH.pdparams)")
    save_vars(executor, dirname, main_program, predicate=is_parameter, filename=filename)


def save_persistables(executor, dirname, main_program=None, filename=None):
    """fluid.io.save_persistables: every persistable variable (to resume training)."""
    warn_once("fluid.io.save_persistables", "use paddle.static.save(program, path) (PATH.pdparams + .pdopt)")
    save_vars(executor, dirname, main_program, predicate=is_persistable, filename=filename)


def load_vars(executor, dirname, main_program=None, vars=None, predicate=None, filename=None):
    """fluid.io.load_vars: read what save_vars (ours or fluid 1.x's) wrote into the current scope."""
    program = _program_or_default(main_program, "load_vars")
    directory = Path(dirname)
    if not directory.is_dir():
        raise ModelError(f"load_vars: {directory} is not a directory")
    if vars is None:
        vars = [var for var in program.list_vars() if predicate is None or predicate(var)]
    vars = list(vars)
    if filename is None:
        missing = [var.name for var in vars if not (directory / var.name).is_file()]
        if missing:
            raise ModelError(f"load_vars: {directory} has no file for variable(s) {', '.join(missing[:5])}")
    elif not (directory / filename).is_file():
        raise ModelError(f"load_vars: {directory / filename} not found")
    if not vars:
        return
    try:
        paddle.static.io.load_vars(executor, str(directory), main_program=program, vars=vars, filename=filename)
    except Exception as exc:  # noqa: BLE001 - Paddle reports bad files as assorted C++ errors
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"load_vars: cannot load from {directory}: {detail}") from exc


def load_params(executor, dirname, main_program=None, filename=None):
    """fluid.io.load_params: the parameters save_params wrote."""
    warn_once("fluid.io.load_params", "use paddle.static.load(program, path, executor)")
    load_vars(executor, dirname, main_program, predicate=is_parameter, filename=filename)


def load_persistables(executor, dirname, main_program=None, filename=None):
    """fluid.io.load_persistables: every persistable variable save_persistables wrote."""
    warn_once("fluid.io.load_persistables", "use paddle.static.load(program, path, executor)")
    load_vars(executor, dirname, main_program, predicate=is_persistable, filename=filename)


@contextlib.contextmanager
def _quiet_paddle_io_logger():
    """Paddle logs "The old way to load inference model is deprecated" for directory loads; hide it."""
    logger = logging.getLogger("paddle.static.io")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def _existing(directory: Path, name: str, suffix: str) -> Path | None:
    """The file Paddle will read for `name`: NAME+suffix when present, else NAME itself."""
    for candidate in (directory / (name + suffix), directory / name):
        if candidate.is_file():
            return candidate
    return None


def load_inference_model(dirname, executor, model_filename=None, params_filename=None, pserver_endpoints=None):
    """Load what save_inference_model wrote: returns [inference_program, feed_target_names, fetch_targets].

    Run it inside `fluid.scope_guard(fluid.core.Scope())` to keep the parameters out of the global scope.
    """
    warn_once(
        "fluid.io.load_inference_model",
        "use paddle.static.load_inference_model(path_prefix, executor) with the file prefix "
        "(DIR/model for DIR/model.pdmodel), not the directory",
    )
    if pserver_endpoints is not None:
        raise FluidArgumentError("load_inference_model: pserver_endpoints (parameter servers) is not supported")
    directory = Path(dirname)
    if not directory.is_dir():
        raise ModelError(f"load_inference_model: {directory} is not a directory (save_inference_model writes one)")
    if model_filename is None and not (directory / MODEL_FILENAME).is_file() and list(directory.glob("*.json")):
        raise ModelError(
            f"load_inference_model: {directory} holds a PIR export (.json); fluid.io reads legacy-IR exports "
            "(.pdmodel). Load it with paddle.static.load_inference_model(prefix, exe) inside "
            "paddle.pir_utils.IrGuard(), or re-export it with FLAGS_enable_pir_api=0"
        )
    if model_filename is None:
        model_filename = MODEL_FILENAME if (directory / MODEL_FILENAME).is_file() else FLUID1_MODEL_FILENAME
        if model_filename == MODEL_FILENAME and params_filename is None:
            params_filename = PARAMS_FILENAME
    model_path = _existing(directory, model_filename, ".pdmodel")
    if model_path is None:
        raise ModelError(
            f"load_inference_model: {directory / model_filename} not found (expected {MODEL_FILENAME} or "
            f"{FLUID1_MODEL_FILENAME} in {directory}, or pass model_filename=)"
        )
    if params_filename is not None and _existing(directory, params_filename, ".pdiparams") is None:
        raise ModelError(f"load_inference_model: parameter file {directory / params_filename} not found")
    try:
        with _quiet_paddle_io_logger():
            # Paddle's directory form: model_filename/params_filename relative to the directory; no
            # params_filename means one file per parameter (fluid 1.x's default layout).
            return paddle.static.load_inference_model(
                str(directory), executor, model_filename=model_filename, params_filename=params_filename
            )
    except Exception as exc:  # noqa: BLE001 - Paddle reports corrupt files as assorted C++ errors
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"load_inference_model: cannot load {model_path}: {detail}") from exc


from .reader import DataLoader, PyReader  # noqa: E402 (fluid 1.8 exported them from fluid.io)

__getattr__ = module_getattr(
    "fluid.io",
    {
        "save": "paddle.static.save",
        "load": "paddle.static.load",
        "load_program_state": "paddle.static.load_program_state",
        "set_program_state": "paddle.static.set_program_state",
        "batch": "paddle.batch",
        "shuffle": "paddle.reader.shuffle",
        "buffered": "paddle.reader.buffered",
        "xmap_readers": "paddle.reader.xmap_readers",
    },
)
