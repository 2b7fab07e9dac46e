"""Per-pass training checkpoints: parameters, optimizer state and metadata, written atomically and locked.

Not run directly; `train` writes `<checkpoint-dir>/last` after every pass (and on SIGINT/SIGTERM) and
`<checkpoint-dir>/best` when the validation accuracy improves. `--resume` reads `last`.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np

from ..common.atomic import recover_dir, staged_dir
from ..common.pickles import NumpyOnlyUnpickler  # the project's one numpy-only unpickler
from ..errors import ModelError, UserError
from ..paddle_env import import_paddle
from ..common.untrusted import read_regular

LAST = "last"
BEST = "best"
PARAMS_PREFIX = "model"
META_FILE = "meta.json"
FORMAT_VERSION = 1


class CheckpointLock:
    """An exclusive lock on a checkpoint directory, so two trainings cannot interleave their writes."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._fd: int | None = None

    def __enter__(self) -> "CheckpointLock":
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"--checkpoint-dir {self.directory}: cannot write there ({exc.strerror})") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise UserError(f"--checkpoint-dir {self.directory} is in use by another training (locked)") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def save_checkpoint(directory: Path, name: str, program, meta: dict) -> Path:
    """Write every persistable variable of `program` (weights, BN statistics, optimizer moments) + meta."""
    paddle = import_paddle()
    target = Path(directory) / name
    with staged_dir(target) as staged:
        paddle.static.save(program, str(staged / PARAMS_PREFIX))
        (staged / META_FILE).write_text(json.dumps(dict(meta, format=FORMAT_VERSION), indent=2), "utf-8")
    return target


MAX_META_BYTES = 16 << 20  # a pass adds about 300 bytes of history


def _meta_problem(meta) -> str | None:
    """What is wrong with a meta.json's structure (None when it is what save_checkpoint writes)."""
    if not isinstance(meta, dict):
        return f"holds a {type(meta).__name__}, not an object"
    counts = {key: meta.get(key) for key in ("epoch", "batch", "global_step")}
    for key, value in counts.items():
        if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53):
            return f"{key} is {value!r}, expected a count"
    if not isinstance(meta.get("config"), dict):
        return "config is not an object"
    history = meta.get("history")
    if not (isinstance(history, list) and all(isinstance(h, dict) for h in history)):
        return "history is not a list of pass records"
    partial = meta.get("partial")
    if not (isinstance(partial, list) and len(partial) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in partial)):
        return "partial is not the 4 numbers of an unfinished pass"
    best_epoch, best_acc = meta.get("best_epoch"), meta.get("best_val_acc")
    if best_epoch is not None and not (isinstance(best_epoch, int) and not isinstance(best_epoch, bool)):
        return f"best_epoch is {best_epoch!r}"
    if best_acc is not None and not (isinstance(best_acc, (int, float)) and not isinstance(best_acc, bool)):
        return f"best_val_acc is {best_acc!r}"
    return None


def read_meta(directory: Path, name: str) -> dict | None:
    """The checkpoint's metadata, or None if there is no complete checkpoint of that name."""
    target = Path(directory) / name
    recover_dir(target)
    meta_path = target / META_FILE
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(read_regular(meta_path, MAX_META_BYTES, ModelError, "checkpoint's meta.json"))
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"checkpoint {meta_path} is unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelError(f"checkpoint {meta_path} has format {found!r}, expected {FORMAT_VERSION}")
    problem = _meta_problem(meta)
    if problem:
        raise ModelError(f"checkpoint {meta_path} is damaged ({problem}); not resumed")
    return meta


MAX_CHECKPOINT_BYTES = 1 << 30  # the cnn's parameters and Adam moments are 0.4 MB


def unpickle_arrays(data: bytes, where: str) -> dict:
    """A checkpoint file's bytes -> its dict, unpickled with numpy classes only (ModelError otherwise).

    Paddle's loaders use an unrestricted pickle.Unpickler, so a crafted checkpoint would run code there;
    this unpickler resolves only the three globals an ndarray needs, and the caller uses what it returns -
    the same bytes, never the file again (a file swapped between a check and Paddle's own read would run).
    """
    try:
        state = NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise ModelError(f"checkpoint {where}: {exc}; not loaded") from None
    except Exception as exc:  # noqa: BLE001 - truncated/corrupt pickles raise many types
        raise ModelError(f"checkpoint {where} is damaged ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise ModelError(f"checkpoint {where} is not a Paddle checkpoint (holds {type(state).__name__})")
    return state


def verified_bytes(path: Path) -> bytes | None:
    """A .pdparams/.pdopt file's bytes, read once (a regular file of bounded size) and checked to unpickle with
    numpy classes only; None when there is no such file. Hand these bytes on (io.BytesIO), never the path."""
    if not os.path.lexists(path):
        return None
    data = read_regular(path, MAX_CHECKPOINT_BYTES, ModelError, "checkpoint file")
    unpickle_arrays(data, str(path))
    return data


def read_state(path: Path) -> dict | None:
    """The dict in a .pdparams/.pdopt file, read once and unpickled safely; None when there is no such file."""
    if not os.path.lexists(path):
        return None
    return unpickle_arrays(read_regular(path, MAX_CHECKPOINT_BYTES, ModelError, "checkpoint file"), str(path))


def _checked_array(value, var_name: str, expected: np.ndarray, where: Path) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ModelError(f"checkpoint {where}: {var_name} holds a {type(value).__name__}, not an array")
    if value.shape != expected.shape:
        raise ModelError(f"checkpoint {where}: {var_name} is {list(value.shape)} but this model needs "
                         f"{list(expected.shape)} (a checkpoint of another model?)")
    if value.dtype != expected.dtype:
        raise ModelError(f"checkpoint {where}: {var_name} holds {value.dtype} values, this model needs {expected.dtype}")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ModelError(f"checkpoint {where}: {var_name} holds NaN or infinite values (saved from a diverged "
                         "run?); not loaded")
    return value


def _saved_variables(paddle, program) -> list[tuple[str, str]]:
    """(name, "params" or "opt") of each variable `paddle.static.save` writes for `program`, either IR."""
    if paddle.framework.in_pir_mode():
        from paddle.static.pir_io import get_pir_parameters

        params, opts = get_pir_parameters(program)
        return [(v.name, "params") for v in params if v.persistable] + [(v.name, "opt") for v in opts if v.persistable]
    from paddle.static.io import is_belong_to_optimizer, is_parameter

    return [(v.name, "params" if is_parameter(v) else "opt") for v in program.list_vars()
            if is_parameter(v) or is_belong_to_optimizer(v)]


def load_checkpoint(directory: Path, name: str, program, executor) -> None:
    """Load the checkpoint's variables into the current scope for `program`.

    Each file is read once and checked - numpy arrays only, every variable `paddle.static.save` wrote for this
    program present with this program's shape and dtype, finite - and those same arrays are set into the
    scope (`paddle.static.set_program_state`); Paddle never reads the files itself.
    """
    paddle = import_paddle()
    prefix = Path(directory) / name / PARAMS_PREFIX
    files = {"params": prefix.with_suffix(".pdparams"), "opt": prefix.with_suffix(".pdopt")}
    states = {kind: read_state(path) for kind, path in files.items()}
    scope = paddle.static.global_scope()
    chosen = {}
    for var_name, kind in _saved_variables(paddle, program):
        found = scope.find_var(var_name)
        if found is None:
            continue
        if states[kind] is None:
            raise ModelError(f"checkpoint {files[kind]}: missing (an incomplete checkpoint); not loaded")
        if var_name not in states[kind]:
            raise ModelError(f"checkpoint {files[kind]}: has no {var_name} (a checkpoint of another model or "
                             "optimizer?); not loaded")
        chosen[var_name] = _checked_array(states[kind][var_name], var_name, np.array(found.get_tensor()), files[kind])
    try:
        paddle.static.set_program_state(program, chosen)
    except Exception as exc:  # Paddle raises assorted types for tensors it cannot take
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"checkpoint {prefix} does not fit this model/optimizer: {first_line}") from None
