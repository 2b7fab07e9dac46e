"""docs/porting.md stays true: its PIR-vs-legacy claims are re-run here, and every API name in its tables
resolves (modern `paddle.*` names exist in this Paddle, `legacy_mnist.*`/`fluid.*` names exist in ours), and
every test its 1.8.5 table (section 9) names exists.

Run:  python -m pytest -q tests/test_fluid_porting_doc.py
(The Paddle 2.6.2 claims need a second Paddle: tests/fluid_scripts/check_paddle2_loads.py, by hand.)
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import legacy_mnist.fluid as fluid
from legacy_mnist.errors import ModelError
from legacy_mnist.paddle_env import ir_guard

paddle = fluid.paddle
pytestmark = pytest.mark.filterwarnings("ignore::legacy_mnist.fluid.FluidDeprecationWarning")
DOC = Path(__file__).resolve().parents[1] / "docs" / "porting.md"


def _build(ir, with_conv=False):
    """A tiny img -> probabilities program under `ir`; returns (main, startup, img, prediction)."""
    with ir_guard(ir):
        main, startup = paddle.static.Program(), paddle.static.Program()
    with ir_guard(ir), paddle.static.program_guard(main, startup), paddle.utils.unique_name.guard():
        img = paddle.static.data("img", [None, 1, 28, 28], "float32")
        x = paddle.static.nn.conv2d(img, 2, 5) if with_conv else img
        prediction = paddle.static.nn.fc(paddle.flatten(x, 1), 10, activation="softmax")
    return main, startup, img, prediction


def _export(ir, prefix):
    main, startup, img, prediction = _build(ir)
    with ir_guard(ir), paddle.static.scope_guard(paddle.static.Scope()):
        exe = paddle.static.Executor(paddle.CPUPlace())
        exe.run(startup)
        paddle.static.save_inference_model(str(prefix), [img], [prediction], exe, program=main)
    return exe


def test_pir_refuses_clone_for_test_and_static_nn_conv2d_legacy_accepts_both():
    main, _, _, _ = _build("legacy", with_conv=True)
    assert main.clone(for_test=True) is not None
    main, _, _, _ = _build("pir")
    with ir_guard("pir"), pytest.raises(TypeError, match="incompatible function arguments"):
        main.clone(for_test=True)
    with ir_guard("pir"), pytest.raises(AssertionError, match="FLAGS_enable_pir_api=0"):
        _build("pir", with_conv=True)


def test_exports_are_pdmodel_under_legacy_and_json_under_pir(tmp_path):
    _export("legacy", tmp_path / "legacy" / "model")
    _export("pir", tmp_path / "pir" / "model")
    assert sorted(p.name for p in (tmp_path / "legacy").iterdir()) == ["model.pdiparams", "model.pdmodel"]
    assert sorted(p.name for p in (tmp_path / "pir").iterdir()) == ["model.json", "model.pdiparams"]


def test_each_ir_loads_only_its_own_format(tmp_path):
    exe = _export("legacy", tmp_path / "legacy" / "model")
    _export("pir", tmp_path / "pir" / "model")
    x = np.zeros((1, 1, 28, 28), "float32")
    with ir_guard("pir"), pytest.raises(RuntimeError, match="json"):
        paddle.static.load_inference_model(str(tmp_path / "legacy" / "model"), exe)
    with ir_guard("legacy"), pytest.raises(FileNotFoundError, match=r"model\.pdmodel"):
        paddle.static.load_inference_model(str(tmp_path / "pir" / "model"), exe)
    for ir in ("legacy", "pir"):  # paddle.pir_utils.OldIrGuard / IrGuard pick the loader
        with ir_guard(ir), paddle.static.scope_guard(paddle.static.Scope()):
            program, feeds, fetches = paddle.static.load_inference_model(str(tmp_path / ir / "model"), exe)
            assert exe.run(program, feed={feeds[0]: x}, fetch_list=fetches)[0].shape == (1, 10)
    with pytest.raises(ModelError, match=r"holds a PIR export \(\.json\)"):
        fluid.io.load_inference_model(str(tmp_path / "pir"), exe)


def test_fetched_scalars_are_0d_so_index_0_fails_and_float_works():
    with pytest.raises(TypeError, match="only 0-dimensional arrays"):
        float(np.array([0.5], dtype=np.float32))  # NumPy >= 2.4: fluid's shape-[1] results broke float()
    with pytest.raises(IndexError):
        np.array(0.5, dtype=np.float32)[0]


# --- every name in the doc's tables resolves ---------------------------------------------------------

def _table_cells():
    """(column index, code span) for every code span in the body rows of the doc's 3-column tables."""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3:  # header rows hold no code spans, so they add nothing below
            continue
        for column, cell in enumerate(cells):
            for span in re.findall(r"`([^`]+)`", cell):
                yield column, span


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _names(column_wanted: int, prefixes: tuple[str, ...]):
    names = set()
    for column, span in _table_cells():
        span = re.sub(r"^python -m ", "", span)
        match = re.match(r"[A-Za-z_][\w.]*", span)
        if column == column_wanted and match and match.group(0).startswith(prefixes):
            names.add(match.group(0).rstrip("."))
    return sorted(names)


def test_doc_exists_with_its_tables():
    assert len(_names(1, ("paddle.",))) > 40
    assert len(_names(2, ("legacy_mnist.", "fluid."))) > 30


@pytest.mark.parametrize("name", _names(1, ("paddle.",)) if DOC.exists() else [])
def test_modern_column_names_exist_in_this_paddle(name):
    _resolve(name)


@pytest.mark.parametrize("name", _names(2, ("legacy_mnist.", "fluid.")) if DOC.exists() else [])
def test_legacy_mnist_column_names_exist(name):
    if name.startswith("fluid."):
        _resolve("legacy_mnist." + name)
    else:
        _resolve(name)


def _tested_by():
    """Every `tests/<file>.py::<test>` the doc names (section 9's API -> 1.8.5 -> ours -> test table)."""
    return sorted(set(re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", DOC.read_text(encoding="utf-8"))))


def test_each_api_row_names_tests_that_exist():
    import ast

    named = _tested_by()
    assert len(named) >= 25  # the table names its tests; a renamed or removed one fails here
    repo = DOC.parents[1]
    missing = []
    for path, test in named:
        source = repo / path
        defined = {node.name for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                   if isinstance(node, ast.FunctionDef)} if source.is_file() else set()
        if test not in defined:
            missing.append(f"{path}::{test}")
    assert missing == []
