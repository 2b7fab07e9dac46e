"""legacy_mnist.plot.Ploter behaves like Paddle 1.8's paddle.utils.plot.Ploter (the book notebook's curve).

Run:  python -m pytest -q tests/test_fluid_plot.py
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from PIL import Image

from legacy_mnist.plot import DEFAULT_PATH, Ploter

BLUE, ORANGE = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)  # matplotlib's first two line colours


def _has_colour(png_path, rgb) -> bool:
    pixels = np.asarray(Image.open(png_path).convert("RGB")).reshape(-1, 3).astype(int)
    return bool((np.abs(pixels - rgb).sum(axis=1) < 30).sum() > 20)


def test_terminal_plot_writes_a_png_with_one_line_per_non_empty_curve(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISABLE_PLOT", raising=False)
    ploter = Ploter("Train cost", "Test cost")
    for step in range(5):
        ploter.append("Train cost", step * 100, np.array(2.0 / (step + 1), dtype=np.float32))  # 0-d fetch
    ploter.plot()
    png = tmp_path / DEFAULT_PATH
    assert Image.open(png).size == (640, 480)
    assert _has_colour(png, BLUE) and not _has_colour(png, ORANGE)  # the empty "Test cost" is not drawn
    ploter.append("Test cost", 400, np.array([0.3], dtype=np.float32))  # shape [1], as fluid fetched it
    ploter.plot(path=str(tmp_path / "both.png"))
    assert _has_colour(tmp_path / "both.png", BLUE) and _has_colour(tmp_path / "both.png", ORANGE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both.png", DEFAULT_PATH]  # no temp files left

    ploter.reset()
    ploter.plot(path=str(tmp_path / "empty.png"))
    assert not _has_colour(tmp_path / "empty.png", BLUE)


def test_append_refuses_an_unknown_title_and_disable_plot_skips_drawing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ploter = Ploter("Train cost")
    with pytest.raises(AssertionError, match="unknown title 'train cost'"):
        ploter.append("train cost", 0, 1.0)
    monkeypatch.setenv("DISABLE_PLOT", "True")  # what the book's CI set for converted notebooks
    disabled = Ploter("Train cost")
    disabled.append("Train cost", 0, 1.0)
    disabled.plot()
    assert not (tmp_path / DEFAULT_PATH).exists()


def test_in_a_notebook_plot_redraws_in_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISABLE_PLOT", raising=False)
    calls = []
    display = types.SimpleNamespace(
        clear_output=lambda wait=False: calls.append(("clear", wait)),
        display=lambda obj: calls.append(("display", obj)),
        Image=lambda data, format: ("image", format, data[:8]),
    )
    kernel_shell = types.SimpleNamespace(kernel=object())
    fake_ipython = types.ModuleType("IPython")
    fake_ipython.get_ipython = lambda: kernel_shell
    fake_ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    ploter = Ploter("Train cost")
    ploter.append("Train cost", 0, 1.0)
    ploter.plot()
    ploter.plot()
    assert calls == [("clear", True), ("display", ("image", "png", b"\x89PNG\r\n\x1a\n"))] * 2
    assert not (tmp_path / DEFAULT_PATH).exists()
    kernel_shell.__dict__.pop("kernel")  # terminal IPython: no kernel, so a file again
    ploter.plot()
    assert (tmp_path / DEFAULT_PATH).is_file() and len(calls) == 4
