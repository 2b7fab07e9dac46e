"""The one-line error of `legacy_mnist.v2` and `legacy_mnist.vision` for a name outside their surface.

Not run directly; their modules build their `__getattr__` with `module_getattr`. It imports no Paddle (and
not `legacy_mnist.fluid`, whose import puts Paddle in static mode), so the dynamic-mode 2.x scripts that
use `legacy_mnist.vision` can share it.
"""
from __future__ import annotations

import dis
import functools
import sys
from typing import Callable, Mapping

from ..errors import UserError

DOCS_HINT = "see docs/porting.md"


class NotCoveredError(AttributeError, UserError):
    """A name outside a compatibility namespace's covered surface. The message names the modern replacement.

    An AttributeError, so `hasattr`/`getattr(..., default)` keep working; also a UserError, so our command
    line wrappers print it as one line.
    """


class NotCoveredImportError(ImportError, UserError):
    """`from legacy_mnist.v2.X import name` for an uncovered name: the same message as NotCoveredError.

    An ImportError, what a `from ... import` raises: Python would turn an AttributeError into a bare
    "cannot import name" and lose the hint.
    """


def not_covered(qualname: str, replacement: str | None, namespace: str) -> NotCoveredError:
    """The error for `qualname` (as the user wrote it); `namespace` is the package that does not cover it."""
    if replacement:
        message = f"{qualname} is not covered by {namespace}; use {replacement}"
    else:
        message = (
            f"{qualname} is not covered by {namespace} (it covers the recognize-digits surface); "
            f"{DOCS_HINT} for the covered names and their modern paddle forms"
        )
    return NotCoveredError(message, name=qualname.rsplit(".", 1)[-1])


def module_getattr(prefix: str, replacements: Mapping[str, str], namespace: str) -> Callable[[str], object]:
    """Build a module-level `__getattr__` that raises NotCoveredError for every public missing name.

    `prefix` is the name users write (e.g. "paddle.v2.layer"); `replacements` maps uncovered names to their
    modern spelling; `namespace` is our package that does not cover them. Private and dunder names get a
    plain AttributeError, because tools (pickle, inspect, pytest) probe for those and expect exactly that.
    """

    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {prefix!r} has no attribute {name!r}")
        error = not_covered(f"{prefix}.{name}", replacements.get(name), namespace)
        caller = sys._getframe(1)
        if _is_import_from(caller.f_code, caller.f_lasti):
            raise NotCoveredImportError(str(error), name=name) from None
        raise error

    return __getattr__


@functools.lru_cache(maxsize=4096)
def _is_import_from(code, offset: int) -> bool:
    """Is the instruction at `offset` of `code` an IMPORT_FROM (the caller runs `from module import name`)?"""
    return any(ins.offset == offset and ins.opname == "IMPORT_FROM" for ins in dis.get_instructions(code))
