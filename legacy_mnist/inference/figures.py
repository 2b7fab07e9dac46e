"""Pictures of an evaluation: the confusion matrix, galleries of mistakes and samples (PNG bytes).

Not run directly; `python -m legacy_mnist.evaluate --plot/--misclassified/--samples` write them.
"""
from __future__ import annotations

import io

import numpy as np

from .backends import NUM_CLASSES
from .evaluation import Evaluation


GALLERY_LIMIT = 60  # misclassified digits drawn (the worst, most confident mistakes first)
SAMPLE_COUNT = 40


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def confusion_png(result: Evaluation, title: str = "Confusion matrix") -> bytes:
    """The confusion matrix as a heat map with counts, rows = true digit."""
    fig = _figure(6.4, 5.6)
    axis = fig.add_subplot(1, 1, 1)
    # Log colour scale: the diagonal is ~1000 per class, the mistakes worth seeing are single digits.
    shown = np.log1p(result.confusion)
    image = axis.imshow(shown, cmap="Blues")
    peak = shown.max() if shown.size else 1
    for (row, col), count in np.ndenumerate(result.confusion):
        if count:
            colour = "white" if shown[row, col] > 0.6 * peak else "black"
            axis.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(NUM_CLASSES))
    axis.set_yticks(range(NUM_CLASSES))
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_title(f"{title} (accuracy {result.accuracy:.4f}, n={result.count})")
    fig.colorbar(image, ax=axis, label="log(1 + count)")
    fig.tight_layout()
    return _png(fig)


def _grid(images: np.ndarray, captions: list[str], title: str, columns: int = 10) -> bytes:
    count = max(1, len(images))
    rows = (count + columns - 1) // columns
    fig = _figure(columns * 1.0, rows * 1.15 + 0.6)
    for index, (pixels, caption) in enumerate(zip(images, captions)):
        axis = fig.add_subplot(rows, columns, index + 1)
        axis.imshow(pixels, cmap="gray", vmin=0, vmax=255)
        axis.set_title(caption, fontsize=7)
        axis.axis("off")
    if not len(images):
        axis = fig.add_subplot(1, 1, 1)
        axis.text(0.5, 0.5, "none", ha="center", va="center")
        axis.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)


def misclassified_png(images: np.ndarray, labels: np.ndarray, result: Evaluation, limit: int = GALLERY_LIMIT) -> bytes:
    """The misclassified digits, most confident mistakes first, captioned 'true -> predicted (p)'."""
    wrong = np.nonzero(result.predictions != labels)[0]
    wrong = wrong[np.argsort(-result.confidences[wrong], kind="stable")][:limit]
    captions = [
        f"{labels[i]}->{result.predictions[i] if result.predictions[i] >= 0 else '?'} ({result.confidences[i]:.2f})"
        for i in wrong
    ]
    total = int(np.sum(result.predictions != labels))
    return _grid(images[wrong], captions, f"Misclassified: {len(wrong)} of {total} shown (true->predicted (p))")


def samples_png(images: np.ndarray, labels: np.ndarray, result: Evaluation | None = None, count: int = SAMPLE_COUNT) -> bytes:
    """The first `count` images with their labels (and predictions when given)."""
    count = min(count, len(images))
    if result is None:
        captions = [f"label {labels[i]}" for i in range(count)]
    else:
        captions = [f"{labels[i]} / pred {result.predictions[i]}" for i in range(count)]
    return _grid(images[:count], captions, "Samples: label / prediction" if result is not None else "Samples")
