"""Split a photo of a written number (one line of digits, spaced or touching) into MNIST-like digits.

Try it:  python -m legacy_mnist.infer --number photo.jpg      (reads "4071" instead of one digit)

The page goes through the same preprocessing as a single digit (`preprocess.page_ink`: paper, rules,
shadows and texture removed), then: ink pieces are found (connected components), specks and marks off
the line of writing dropped, pieces stacked above one another joined (a '5' whose flag was lifted, a
broken stroke), and a piece much wider than the line's digits are tall - digits that touch - is cut into
as many digits as its width holds, each cut at the column with the least ink near where the width prior
puts it; where the width leaves the count open (one wide '0' or two touching digits), the model reads
each reading and the one it is surest of wins. Each digit becomes a 28x28 image with
`preprocess.ink_to_mnist`, as a single digit does, so the model sees the normalisation it was trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..preprocess import NoDigitError, _label, check_strokes, ink_to_mnist, page_ink

PIECE_INK = 0.25  # soft-ink level that counts as a stroke when finding pieces
MIN_PIECE = 0.04  # a piece with less than 4% of the largest piece's ink is a speck
# MNIST's digits are 0.35 ('1') to 1.0 times as wide as tall, most about 0.7: a piece wider than
# TOUCHING_WIDTH heights is two or more digits written into each other.
DIGIT_WIDTH = 0.72
TOUCHING_WIDTH = 1.3  # wider than this: surely more than one digit
SPLIT_WIDTH = 0.45  # narrower than this per digit: not that many digits (even '1's are wider with the pen)
MAX_DIGITS = 32
COUNT_PRIOR = 0.25  # log-probability a reading pays per digit it is away from the width prior's count


@dataclass(frozen=True)
class DigitBox:
    top: int
    bottom: int
    left: int
    right: int


def _pieces(soft: np.ndarray) -> list[tuple[DigitBox, np.ndarray]]:
    """Connected ink pieces (box, their own mask over the box), largest first, specks dropped."""
    labels, count = _label(soft > PIECE_INK)
    if count == 0:
        return []
    mass = np.bincount(labels.reshape(-1), weights=soft.reshape(-1), minlength=count + 1)[1:]
    pieces = []
    for index in np.argsort(-mass):
        if mass[index] < MIN_PIECE * mass.max():
            break
        ys, xs = np.nonzero(labels == index + 1)
        box = DigitBox(int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        pieces.append((box, labels[box.top : box.bottom, box.left : box.right] == index + 1))
    return pieces


def _on_the_line(pieces: list[tuple[DigitBox, np.ndarray]]) -> list[tuple[DigitBox, np.ndarray]]:
    """Keep the pieces on the line of writing the largest piece is on (vertical overlap with its band)."""
    band_top, band_bottom = pieces[0][0].top, pieces[0][0].bottom
    height = band_bottom - band_top
    kept = []
    for box, mask in pieces:
        centre = (box.top + box.bottom) / 2
        if band_top - 0.4 * height <= centre <= band_bottom + 0.4 * height:
            kept.append((box, mask))
    return kept


def _join_stacked(pieces: list[DigitBox]) -> list[DigitBox]:
    """Join pieces whose columns overlap by more than half of the narrower one, left to right."""
    boxes = sorted(pieces, key=lambda b: b.left)
    joined: list[DigitBox] = []
    for box in boxes:
        if joined:
            last = joined[-1]
            overlap = min(last.right, box.right) - max(last.left, box.left)
            if overlap > 0.5 * min(last.right - last.left, box.right - box.left):
                joined[-1] = DigitBox(min(last.top, box.top), max(last.bottom, box.bottom),
                                      min(last.left, box.left), max(last.right, box.right))
                continue
        joined.append(box)
    return joined


def _cuts(column_ink: np.ndarray, count: int, height: int) -> list[int]:
    """`count - 1` cut columns for a piece holding `count` touching digits: each near the even split, at the
    column with the least ink within a third of a digit's width of it."""
    width = len(column_ink)
    reach = max(1, int(0.3 * width / count))
    cuts = []
    for k in range(1, count):
        guess = int(round(k * width / count))
        low, high = max(1, guess - reach), min(width - 1, guess + reach + 1)
        if low >= high:
            cuts.append(guess)
            continue
        window = column_ink[low:high]
        # Least ink, and among equals the one nearest the guess (a wide gap is cut in its middle).
        nearness = np.abs(np.arange(low, high) - guess) / max(reach, 1)
        cuts.append(int(low + np.argmin(window + 0.05 * window.max() * nearness)))
    return cuts


def _parts(region: np.ndarray, count: int, height: int) -> list[np.ndarray]:
    """`region` cut into `count` digits, each cropped to its ink."""
    width = region.shape[1]
    edges = [0, *_cuts(region.sum(axis=0), count, height), width] if count > 1 else [0, width]
    parts = []
    for left, right in zip(edges[:-1], edges[1:]):
        part = region[:, left:right]
        ys, xs = np.nonzero(part > 0.05)
        if ys.size:
            parts.append(part[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    return parts


def split_number(soft: np.ndarray) -> list[list[tuple[list[np.ndarray], int]]]:
    """Soft ink [H, W] of a page (`page_ink(...).soft`) -> its groups of ink, left to right, each as its
    alternative readings (digit patches, and the width prior's count): one digit, or as many touching
    digits as the width prior allows and one fewer or more. `read_number` lets the model choose."""
    pieces = _pieces(soft)
    if not pieces:
        raise NoDigitError("no digit found (only noise)")
    pieces = _on_the_line(pieces)
    boxes = _join_stacked([box for box, _ in pieces])
    # The line's digit height: the tallest group is the surest (a '-' or a dot is not a digit).
    height = max(b.bottom - b.top for b in boxes)
    boxes = [b for b in boxes if max(b.bottom - b.top, b.right - b.left) >= 0.25 * height]
    groups = []
    for box in boxes:
        region = soft[box.top : box.bottom, box.left : box.right]
        width = box.right - box.left
        guess = max(1, int(round(width / (DIGIT_WIDTH * height))))
        counts = sorted({c for c in (guess - 1, guess, guess + 1) if 1 <= c <= MAX_DIGITS
                         and (c == 1 or width >= SPLIT_WIDTH * c * height)})
        if width > TOUCHING_WIDTH * height:
            counts = [c for c in counts if c > 1] or [2]
        groups.append([(_parts(region, c, height), guess) for c in counts])
    if len(groups) > MAX_DIGITS:
        raise NoDigitError(f"no number found ({len(groups)} marks on the line: more than {MAX_DIGITS} digits)")
    return groups


def read_number(image: Image.Image, predict) -> tuple[list[int], np.ndarray]:
    """A photo of a written number -> (its digits left to right, their probabilities [n, 10]).

    `predict` maps uint8 [N, 28, 28] MNIST-like images to probabilities [N, 10] (a model's). Where a
    group of ink could be one digit or several touching ones, the reading whose digits the model is surest
    of (highest mean log-probability) wins. Raises NoDigitError when the page holds no digits.
    """
    soft = page_ink(image).soft
    groups = split_number(soft)
    flat = [part for group in groups for option, _ in group for part in option]
    widest = max(p.shape[0] for p in flat)
    check_strokes(np.concatenate([np.pad(p, ((0, widest - p.shape[0]), (0, 2))) for p in flat], axis=1))
    probs = np.asarray(predict(np.stack([ink_to_mnist(p) for p in flat])), dtype=np.float64)
    digits: list[int] = []
    chosen = []
    at = 0
    for group in groups:
        best = None
        for option, _ in group:
            rows = probs[at : at + len(option)]
            at += len(option)
            score = float(np.mean(np.log(np.maximum(rows.max(axis=1), 1e-9))))
            score -= COUNT_PRIOR * abs(len(option) - group[0][1])
            if best is None or score > best[0]:
                best = (score, rows)
        chosen.append(best[1])
        digits += [int(d) for d in best[1].argmax(axis=1)]
    return digits, np.concatenate(chosen).astype(np.float32)
