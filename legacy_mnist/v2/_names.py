"""What every v2 module shares: v2's default layer names, and the "not covered" error naming our namespace.

Not run directly. v2 named an unnamed layer `__<prefix>_<n>__` with one counter per prefix for the whole
process (trainer_config_helpers/default_decorators.py, DefaultNameFactory), and its parameters
`_<layer>.w<i>` / `_<layer>.wbias` (config_parser.py): a model.tar holds those names, so a network built
the same way in a fresh process (infer.py) finds its parameters again.
"""
from __future__ import annotations

import collections
import threading

from ..compat.not_covered import NotCoveredError, module_getattr, not_covered

NAMESPACE = "legacy_mnist.v2"
_counters: collections.Counter = collections.Counter()
_lock = threading.Lock()


def default_name(prefix: str, name: str | None = None) -> str:
    """`name` if given, else v2's next `__<prefix>_<n>__`."""
    if name is not None:
        return str(name)
    with _lock:
        index = _counters[prefix]
        _counters[prefix] += 1
    return f"__{prefix}_{index}__"


def weight_name(layer_name: str, index: int) -> str:
    return f"_{layer_name}.w{index}"


def bias_name(layer_name: str) -> str:
    return f"_{layer_name}.wbias"


def uncovered(what: str, replacement: str | None) -> NotCoveredError:
    """The one-line error for a v2 call outside the covered surface (`what` as the user wrote it)."""
    return not_covered(what, replacement, NAMESPACE)


def v2_getattr(module: str, replacements: dict):
    """Module `__getattr__` for `paddle.v2.<module>`: a missing public name raises NotCoveredError."""
    return module_getattr(f"paddle.v2.{module}" if module else "paddle.v2", replacements, NAMESPACE)
