"""Every NotCoveredError of legacy_mnist.fluid names a replacement that exists in the installed Paddle (3.3.1).

Run:  python -m pytest -q tests/test_fluid_replacements.py
Each module's hint table is read from its `__getattr__` (plus the uncovered-module table), every dotted
`paddle.*`, `fluid.*` and `legacy_mnist.*` name in a hint is resolved by import/getattr, and a hint must
name at least one - unless it says there is nothing to write instead ("nothing ...", "numpy arrays ...").
"""
from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import legacy_mnist.fluid as fluid
from legacy_mnist.fluid._compat import MODULE_REPLACEMENTS

_DOTTED = re.compile(r"\b((?:paddle|fluid|legacy_mnist)(?:\.[A-Za-z_]\w*)+)")
_NO_API = ("nothing", "numpy", "PaddleSlim")  # a deletion, plain arrays, or another package's job


def _fluid_modules():
    yield fluid
    for info in pkgutil.walk_packages(fluid.__path__, "legacy_mnist.fluid."):
        yield importlib.import_module(info.name)


def _hint_tables():
    tables = {"legacy_mnist.fluid._compat.MODULE_REPLACEMENTS": dict(MODULE_REPLACEMENTS)}
    for module in _fluid_modules():
        getter = module.__dict__.get("__getattr__")
        if getter is None or not getter.__closure__:
            continue
        cells = dict(zip(getter.__code__.co_freevars, (cell.cell_contents for cell in getter.__closure__)))
        if "replacements" in cells:
            tables[module.__name__] = dict(cells["replacements"])
    return tables


def _resolve(dotted: str):
    parts = dotted.split(".")
    if parts[0] == "fluid":
        parts = ["legacy_mnist", "fluid"] + parts[1:]
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)  # AttributeError (NotCoveredError included): the hint names nothing real
        return obj
    raise ImportError(dotted)


HINTS = sorted((table, name, hint) for table, hints in _hint_tables().items() for name, hint in hints.items())


def test_every_fluid_module_with_hints_was_found():
    tables = _hint_tables()
    for expected in ("legacy_mnist.fluid", "legacy_mnist.fluid.layers", "legacy_mnist.fluid.layers.control_flow",
                     "legacy_mnist.fluid.io", "legacy_mnist.fluid.dygraph", "legacy_mnist.fluid.optimizer",
                     "legacy_mnist.fluid.core"):
        assert tables.get(expected), expected
    assert len(HINTS) > 150


@pytest.mark.parametrize("table, name, hint", HINTS, ids=[f"{t.rsplit('.', 1)[-1]}.{n}" for t, n, _ in HINTS])
def test_each_named_replacement_exists_in_this_paddle(table, name, hint):
    names = [dotted.rstrip(".") for dotted in _DOTTED.findall(hint)]
    if not names:
        assert hint.startswith(_NO_API), f"{table}: {name!r} -> {hint!r} names no API"
        return
    import paddle

    for dotted in names:
        try:
            _resolve(dotted)
        except (ImportError, AttributeError) as exc:
            pytest.fail(f"{table}: {name!r} -> {hint!r}: {dotted} does not exist in Paddle "
                        f"{paddle.__version__} ({type(exc).__name__})")
