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

DOCS_HINT = "see docs/porting.md"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class FluidDeprecationWarning(FutureWarning):
    """A fluid name whose modern spelling differs in a way a porter must know (shown once per name).

    A FutureWarning, so Python shows it by default; silence all of them with
    `warnings.filterwarnings("ignore", category=legacy_mnist.fluid.FluidDeprecationWarning)`.
    """


class NotCoveredError(AttributeError, UserError):
    """A fluid name outside the covered surface. The message names the modern replacement.

    An AttributeError, so `hasattr`/`getattr(..., default)` keep working; also a UserError, so our command
    line wrappers print it as one line.
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


def not_covered(qualname: str, replacement: str | None) -> NotCoveredError:
    if replacement:
        message = f"{qualname} is not covered by legacy_mnist.fluid; use {replacement}"
    else:
        message = (
            f"{qualname} is not covered by legacy_mnist.fluid (it covers the recognize-digits surface); "
            f"{DOCS_HINT} for the covered names and their modern paddle forms"
        )
    return NotCoveredError(message, name=qualname.rsplit(".", 1)[-1])


def module_getattr(prefix: str, replacements: Mapping[str, str]) -> Callable[[str], object]:
    """Build a module-level `__getattr__` that raises NotCoveredError for every public missing name.

    `prefix` is the name users write (e.g. "fluid.layers"); `replacements` maps uncovered names to their
    modern spelling. Private and dunder names get a plain AttributeError, because tools (pickle, inspect,
    pytest) probe for those and expect exactly that.
    """

    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {prefix!r} has no attribute {name!r}")
        raise not_covered(f"{prefix}.{name}", replacements.get(name))

    return __getattr__


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
