"""User-facing errors and the one-line-error wrapper every command-line entry point uses.

Not run directly; `python -m legacy_mnist.train` and the other commands call `run_cli`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import traceback
from typing import Callable, Sequence

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ReportedError(Exception):
    """An error whose message is complete for the user: printed on one line, no traceback."""

    exit_code = EXIT_FAILURE


class UserError(ReportedError):
    """A mistake in the user's arguments or input: reported on one line, exit code 2."""

    exit_code = EXIT_USAGE


class PipelineFailure(ReportedError):
    """The run itself failed (e.g. training diverged): reported on one line, exit code 1."""

    exit_code = EXIT_FAILURE


class DataError(UserError):
    """A data file is missing, corrupt or does not match MNIST."""


class ModelError(UserError):
    """An exported model or checkpoint is missing, incomplete or of the wrong kind."""


def version_line() -> str:
    """What every command's `--version` prints: ours, and the Paddle and Python it runs on (Paddle not imported)."""
    import importlib.metadata
    import platform

    from . import __version__

    try:
        paddle = importlib.metadata.version("paddlepaddle")
    except importlib.metadata.PackageNotFoundError:
        paddle = "not installed"
    return f"legacy_mnist {__version__} (paddlepaddle {paddle}, Python {platform.python_version()})"
class Terminated(BaseException):
    """SIGTERM arrived (SIGINT is KeyboardInterrupt): the run stops with exit 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one `error: ...` line on stderr and exit code 2 (no usage dump), and
    which gives every command `--version`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action="version", version=version_line(),
                          help="print the versions of legacy_mnist, Paddle and Python, and exit")

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def debug_enabled() -> bool:
    return os.environ.get("LEGACY_MNIST_DEBUG", "") not in ("", "0")


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run `main(argv)` and turn exceptions into one line on stderr plus an exit code.

    A traceback is only printed when LEGACY_MNIST_DEBUG=1, because batch scripts parse stderr.
    """
    try:
        return main(argv)
    except ReportedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as exc:
        print(f"error: terminated by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly. Point stdout at /dev/null so the interpreter's
        # final flush of what is still buffered does not report the broken pipe again (and exit 120).
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence for batch scripts
        if debug_enabled():
            traceback.print_exc()
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error: {type(exc).__name__}: {detail}".rstrip(": "), file=sys.stderr)
        return EXIT_FAILURE
