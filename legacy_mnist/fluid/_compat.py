"""Shared machinery of the fluid shim: the once-per-name porting warning and the clear "not covered" error.

Not run directly; every module of `legacy_mnist.fluid` imports it.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import warnings
from typing import Callable, Mapping

from ..errors import UserError
from ..compat.not_covered import NotCoveredError, NotCoveredImportError  # noqa: F401 (re-exported)
from ..compat.not_covered import module_getattr as _module_getattr
from ..compat.not_covered import not_covered as _not_covered

DOCS_HINT = "see docs/porting.md"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class FluidDeprecationWarning(FutureWarning):
    """A fluid name whose modern spelling differs in a way a porter must know (shown once per name).

    A FutureWarning, so Python shows it by default; silence all of them with
    `warnings.filterwarnings("ignore", category=legacy_mnist.fluid.FluidDeprecationWarning)`.
    """


class FluidArgumentError(UserError, ValueError):
    """A fluid call with arguments fluid itself rejected (a ValueError there, a one-line UserError here)."""


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _in_package(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _user_stacklevel() -> int:
    """The `stacklevel` of the first frame outside this package, so the warning names the user's line."""
    level, frame = 2, sys._getframe(2)  # level 1 is warn_once, level 2 its caller
    while frame is not None and _in_package(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def warn_once(name: str, message: str) -> None:
    """Warn `"{name}: {message}"` the first time `name` is used in this process, never again."""
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    warnings.warn(f"{name}: {message}", FluidDeprecationWarning, stacklevel=_user_stacklevel())


def reset_warnings() -> None:
    """Forget which names have warned (for tests that check the once-per-name behaviour)."""
    with _warned_lock:
        _warned.clear()


NAMESPACE = "legacy_mnist.fluid"


def not_covered(qualname: str, replacement: str | None) -> NotCoveredError:
    return _not_covered(qualname, replacement, NAMESPACE)


def module_getattr(prefix: str, replacements: Mapping[str, str]) -> Callable[[str], object]:
    """Build a module-level `__getattr__` that raises NotCoveredError for every public missing name.

    `prefix` is the name users write (e.g. "fluid.layers"); `replacements` maps uncovered names to their
    modern spelling. Under `from fluid.X import name` it raises NotCoveredImportError with the same message
    (Python would turn the AttributeError into a bare "cannot import name"). Private and dunder names get a
    plain AttributeError, because tools (pickle, inspect, pytest) probe for those and expect exactly that.
    """
    merged = dict(_submodule_hints(prefix), **replacements)
    return _module_getattr(prefix, merged, NAMESPACE)


def _submodule_hints(prefix: str) -> dict:
    """The MODULE_REPLACEMENTS of `prefix`'s direct submodules, by name: `from fluid.layers import detection`."""
    relative = prefix[len("fluid"):].lstrip(".")
    start = f"{relative}." if relative else ""
    return {key[len(start):]: value for key, value in MODULE_REPLACEMENTS.items()
            if key.startswith(start) and "." not in key[len(start):]}


class NotCoveredModuleError(ModuleNotFoundError, UserError):
    """`import legacy_mnist.fluid.X.Y` (or `from ... import`) for a fluid module the shim does not cover."""


# Modules of fluid 1.x a porter may import, with what replaced them (the rest get the generic hint).
MODULE_REPLACEMENTS = {
    "transpiler": "paddle.distributed.fleet",
    "incubate": "paddle.distributed.fleet",
    "distributed": "paddle.distributed",
    "contrib.slim": "PaddleSlim (the paddleslim package)",
    "contrib.mixed_precision": "paddle.amp",
    "contrib.decoder": "paddle.nn.BeamSearchDecoder",
    "contrib.reader": "paddle.io.DataLoader",
    "contrib.utils": "paddle.utils",
    "layers.detection": "paddle.vision.ops",
    "layers.sequence_lod": "nothing: LoD sequences were removed; pad the batch",
    "layers.rnn": "paddle.nn.RNN / paddle.nn.LSTM / paddle.nn.GRU",
    "layers.learning_rate_scheduler": "paddle.optimizer.lr",
    "layers.collective": "paddle.distributed",
    "layers.distributions": "paddle.distribution",
    "layers.math_op_patch": "nothing: tensor operators (+, *, ...) work directly",
    "layers.layer_function_generator": "nothing (internal to fluid)",
    "dygraph.jit": "paddle.jit",
    "dygraph.dygraph_to_static": "paddle.jit.to_static",
    "dygraph.learning_rate_scheduler": "paddle.optimizer.lr",
    "dygraph.container": "paddle.nn.Sequential / paddle.nn.LayerList",
    "metrics": "paddle.metric",
    "evaluator": "paddle.metric",
    "average": "paddle.metric",
    "profiler": "paddle.profiler",
    "clip": "paddle.nn.ClipGradByNorm / ClipGradByGlobalNorm (grad_clip= of the optimizer)",
    "framework": "paddle.static",
    "backward": "paddle.static.append_backward",
    "executor": "fluid.Executor (paddle.static.Executor)",
    "compiler": "paddle.static.CompiledProgram",
    "parallel_executor": "paddle.static.CompiledProgram + fluid.Executor",
    "lod_tensor": "numpy arrays fed to Executor.run (LoD was removed)",
    "unique_name": "paddle.utils.unique_name",
    "dataset": "paddle.io.Dataset",
    "recordio_writer": "nothing (RecordIO was removed); use paddle.io.Dataset",
}


class _UncoveredModuleFinder:
    """Last on sys.meta_path: a `legacy_mnist.fluid.*` module no other finder has gets our one-line hint.

    Python's own finders run first, so every module the shim has imports as usual; this one only turns the
    bare "No module named ..." of an uncovered fluid module into the porting hint.
    """

    _PREFIX = NAMESPACE + "."

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if not fullname.startswith(cls._PREFIX):
            return None
        relative = fullname[len(cls._PREFIX):]
        if any(part.startswith("_") for part in relative.split(".")):
            return None  # private probes (tools, pytest) keep the plain ModuleNotFoundError
        replacement = next((MODULE_REPLACEMENTS[key] for key in _prefixes(relative) if key in MODULE_REPLACEMENTS),
                           None)
        message = str(not_covered(f"fluid.{relative}", replacement))
        raise NotCoveredModuleError(message, name=fullname)


def _prefixes(relative: str):
    """"a.b.c" -> "a.b.c", "a.b", "a": the longest known module first."""
    parts = relative.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def install_module_hints() -> None:
    """Put the uncovered-module finder at the end of sys.meta_path (once per process)."""
    if not any(finder is _UncoveredModuleFinder for finder in sys.meta_path):
        sys.meta_path.append(_UncoveredModuleFinder)


@functools.lru_cache(maxsize=None)
def legacy_paddle():
    """Return `paddle` in static mode under the legacy IR, whatever imported paddle first.

    The book's scripts `import paddle` before `import paddle.fluid`, so paddle may already be loaded with
    PIR (its default): FLAGS_enable_pir_api=0 only acts before the import, so switch the process back the
    way `paddle.pir_utils.OldIrGuard` does, permanently - fluid programs need the legacy IR
    (`clone(for_test=True)`, `static.nn.conv2d`, `.pdmodel` exports).
    """
    from ..paddle_env import _verbose_requested, import_paddle

    paddle = import_paddle()
    if not _verbose_requested():
        _apply_glog_level(paddle)
    if paddle.get_flags(["FLAGS_enable_pir_api"])["FLAGS_enable_pir_api"]:
        from paddle import pir_utils

        paddle.set_flags({"FLAGS_enable_pir_api": False})
        pir_utils._switch_to_old_ir_()
    return paddle


def _apply_glog_level(paddle) -> None:
    """Apply GLOG_minloglevel (3 unless the user set it) to a Paddle that was imported before we set it.

    glog reads the variable once, when libpaddle loads; the book's `import paddle` comes first, so its
    "New Executor is Running" INFO lines would reach the user. The flag is a plain int in libpaddle.
    """
    try:
        import ctypes

        level = int(os.environ.get("GLOG_minloglevel", "3"))
        lib = ctypes.CDLL(paddle.base.libpaddle.__file__)
        ctypes.c_int.in_dll(lib, "_ZN3fLI17FLAGS_minloglevelE").value = level
    except (AttributeError, OSError, ValueError):
        pass  # another build layout: the log lines are noise, not an error


@contextlib.contextmanager
def paddle_deprecations_hidden():
    """Hide Paddle's VisibleDeprecationWarning for a call the shim makes on the user's behalf.

    Paddle flags `static.nn.conv2d` & co. as deprecated; our own FluidDeprecationWarning already tells the
    porter what to write instead, so the second, vaguer warning is noise.
    """
    from ..paddle_env import _verbose_requested

    if _verbose_requested():
        yield
        return
    from paddle.utils.deprecated import VisibleDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VisibleDeprecationWarning)
        yield
