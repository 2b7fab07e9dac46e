"""Import Paddle quietly and pick the IR; every module that needs Paddle gets it from here.

Not run directly. Paddle's glog lines, deprecation warnings and the ccache notice are hidden unless the
user asks for them (`-v`, or LEGACY_MNIST_VERBOSE=1), because batch scripts read our stdout/stderr.
The legacy IR is the default: under PIR `Program.clone(for_test=True)` and `static.nn.conv2d` fail and
exports are `.json` files that Paddle 2.x cannot load.
"""
from __future__ import annotations

import contextlib
import logging
import os
import warnings

from .common.native_output import native_output_captured

IR_CHOICES = ("legacy", "pir")


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _verbose_requested() -> bool:
    return os.environ.get("LEGACY_MNIST_VERBOSE", "") not in ("", "0")


def configure_logging(verbose: bool | None = None) -> None:
    """Set glog/flag environment before Paddle is imported (later calls only adjust warnings)."""
    verbose = _verbose_requested() if verbose is None else verbose
    if not verbose:
        os.environ.setdefault("GLOG_minloglevel", "3")
        os.environ.setdefault("GLOG_v", "0")
        os.environ.setdefault("FLAGS_call_stack_level", "0")
        warnings.filterwarnings("ignore", module=r"paddle(\.|$)")
        warnings.filterwarnings("ignore", message=r".*ccache.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
    else:
        os.environ["LEGACY_MNIST_VERBOSE"] = "1"
    # Legacy IR by default; IrGuard switches to PIR per program when asked.
    os.environ.setdefault("FLAGS_enable_pir_api", "0")


def import_paddle(verbose: bool | None = None):
    """Return the `paddle` module in static mode, imported with our logging settings."""
    configure_logging(verbose)
    with warnings.catch_warnings():
        if not (_verbose_requested() if verbose is None else verbose):
            warnings.simplefilter("ignore")
        import paddle
    if not (_verbose_requested() if verbose is None else verbose):
        # Paddle attributes its deprecation warnings to the caller, so filter them by class.
        from paddle.utils.deprecated import VisibleDeprecationWarning

        warnings.filterwarnings("ignore", category=VisibleDeprecationWarning)
    paddle.enable_static()
    return paddle


def ir_guard(ir: str):
    """Context manager that builds/runs/saves programs under the chosen IR ('legacy' or 'pir')."""
    paddle = import_paddle()
    from paddle import pir_utils

    if ir == "legacy":
        return pir_utils.OldIrGuard()
    if ir == "pir":
        return pir_utils.IrGuard()
    raise ValueError(f"unknown IR {ir!r}; choose one of {', '.join(IR_CHOICES)}")


@contextlib.contextmanager
def quiet_warnings():
    """Hide Paddle's Python warnings (deprecations) inside the block unless verbose."""
    with warnings.catch_warnings():
        if not _verbose_requested():
            warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def quiet_paddle_logger():
    """Keep a model load's chatter off stdout/stderr unless verbose: Paddle's Python logging (it warns when
    loading from memory) and what its C++ prints (libprotobuf's parse errors on a damaged program)."""
    previous = logging.root.manager.disable
    quiet = not _verbose_requested()
    if quiet:
        logging.disable(logging.WARNING)
    try:
        with native_output_captured(quiet):
            yield
    finally:
        logging.disable(previous)
