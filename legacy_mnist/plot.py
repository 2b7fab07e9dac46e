"""`Ploter`: the live training curve of the book's notebooks (`paddle.utils.plot` / `paddle.v2.plot`).

Not run directly. Port `from paddle.utils.plot import Ploter` to `from legacy_mnist.plot import Ploter`:

    ploter = Ploter("Train cost", "Test cost")
    ploter.append("Train cost", step, cost)
    ploter.plot()            # a notebook redraws the figure in place; a terminal writes ploter.png
    ploter.plot("cost.png")  # or any path, as the original did

As in Paddle 1.8, `DISABLE_PLOT=True` in the environment turns `plot()` into a no-op, `append` refuses a
title the Ploter was not created with (AssertionError), and each `plot()` draws every series that has
points, with a legend at the upper left. Drawing is matplotlib's Agg backend into a fresh figure, so a
script never needs a display; the PNG is written atomically (temp file, then rename).
"""
from __future__ import annotations

import os
import sys

from .common.atomic import atomic_write_bytes

DEFAULT_PATH = "ploter.png"  # where plot() draws outside a notebook when no path is given


class PlotData:
    """One series: the steps (x) and values (y) appended so far."""

    def __init__(self):
        self.step = []
        self.value = []

    def append(self, step, value):
        self.step.append(step)
        self.value.append(value)

    def reset(self):
        self.step = []
        self.value = []


def _notebook_display():
    """IPython's display module when running in a notebook kernel (Jupyter, AI Studio), else None."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return None
    try:
        ipython = shell.get_ipython()
    except AttributeError:
        return None
    if ipython is None or not hasattr(ipython, "kernel"):  # terminal IPython has no kernel: write a file
        return None
    from IPython import display

    return display


class Ploter:
    """Ploter(*titles, path=None): curves named `titles`; `path` is where a terminal's plot() draws.

    `path` defaults to ./ploter.png. A notebook shows the figure instead (replacing the previous one).
    """

    def __init__(self, *titles, path=None):
        self.__args__ = titles
        self.__plot_data__ = {title: PlotData() for title in titles}
        self.__disable_plot__ = os.environ.get("DISABLE_PLOT")
        self.path = path or DEFAULT_PATH

    def __plot_is_disabled__(self):
        return self.__disable_plot__ == "True"

    def append(self, title, step, value):
        """Add the point (step, value) to the curve `title` (one of the titles given at construction)."""
        assert isinstance(title, str), f"Ploter.append: title must be a string, got {title!r}"
        assert title in self.__plot_data__, f"Ploter.append: unknown title {title!r} (known: {list(self.__args__)})"
        self.__plot_data__[title].append(step, value)

    def figure_png(self) -> bytes:
        """The current figure as PNG bytes: one line per non-empty curve, legend at the upper left."""
        import io
        import logging

        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        logging.getLogger("matplotlib").setLevel(logging.WARNING)  # Paddle's root handler prints font-cache INFO
        figure = Figure(figsize=(6.4, 4.8), dpi=100)  # pyplot's default size, what the original drew into
        FigureCanvasAgg(figure)
        axis = figure.add_subplot(1, 1, 1)
        titles = []
        for title in self.__args__:
            data = self.__plot_data__[title]
            if data.step:
                titles.append(title)
                # .item(): a fetched cost is a 0-d or shape-[1] array
                axis.plot(data.step, [np.asarray(v, dtype=float).item() for v in data.value])
        axis.legend(titles, loc="upper left")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def plot(self, path=None):
        """Draw every curve: to `path` if given; else in place in a notebook, or to `self.path` in a terminal."""
        if self.__plot_is_disabled__():
            return
        png = self.figure_png()
        display = None if path is not None else _notebook_display()
        if display is not None:
            display.clear_output(wait=True)
            display.display(display.Image(data=png, format="png"))
            return
        atomic_write_bytes(path if path is not None else self.path, png)

    def reset(self):
        """Forget every curve's points (the titles stay)."""
        for data in self.__plot_data__.values():
            data.reset()


__all__ = ["DEFAULT_PATH", "PlotData", "Ploter"]
