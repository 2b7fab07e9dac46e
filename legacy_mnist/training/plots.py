"""Training curves as a PNG (what the book drew with its Ploter), made with matplotlib's Agg backend.

Not run directly; `train` writes curves.png beside each export.
"""
from __future__ import annotations

import io


def curves_figure(history: list[dict], title: str):
    """Cost and accuracy per epoch for train/val/test, as a matplotlib Figure (Agg backend)."""
    import logging

    import matplotlib

    # Paddle installs a root log handler, which would print matplotlib's font-cache INFO lines.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.6), dpi=100)
    epochs = [row["epoch"] for row in history]
    for axis_index, (metric, label) in enumerate((("cost", "cost"), ("acc", "accuracy"))):
        axis = fig.add_subplot(1, 2, axis_index + 1)
        for split in ("train", "val", "test"):
            values = [row.get(f"{split}_{metric}") for row in history]
            if any(v is not None for v in values):
                axis.plot(epochs, [float("nan") if v is None else v for v in values], marker="o", label=split)
        axis.set_xlabel("pass")
        axis.set_ylabel(label)
        # Passes are whole numbers; one pass alone would get matplotlib's +-0.04 window around it.
        if len(epochs) <= 12:
            axis.set_xticks(epochs)
        else:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if epochs:
            axis.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def curves_png(history: list[dict], title: str) -> bytes:
    """`curves_figure` as PNG bytes (train writes them to curves.png beside each export)."""
    buffer = io.BytesIO()
    curves_figure(history, title).savefig(buffer, format="png")
    return buffer.getvalue()
