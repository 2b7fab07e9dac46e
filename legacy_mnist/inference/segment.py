"""Split a photo of a written number (one line of digits, spaced or touching) into MNIST-like digits.

Try it:  python -m legacy_mnist.infer --number photo.jpg      (reads "4071" instead of one digit)
In Python: `legacy_mnist.infer.predict_number(model, "photo.jpg").number` (legacy_mnist/inference/numbers.py).

The page goes through the same preprocessing as a single digit (`preprocess.page_ink`: paper, rules,
shadows and texture removed), then: ink pieces are found (connected components), specks and marks off
the line of writing dropped, pieces stacked above one another joined. Each group of ink is a candidate
digit; a wide group is also read as 2-4 touching digits (cut at the least-ink column near each even
split), and a short fragment next to a digit (a '5' whose flag floats right, an open '6') as part of it.
The model reads every candidate, and the path through them whose digits are jointly most probable wins
(a dynamic programme over the groups): width alone cannot tell a wide '0' from two touching digits.
Each digit becomes a 28x28 image with `preprocess.ink_to_mnist`, as a single digit does, so the model
sees the normalisation it was trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..preprocess import NoDigitError, _dilate, _label, check_strokes, ink_to_mnist, page_ink

PIECE_INK = 0.25  # soft-ink level that counts as a stroke when finding pieces
MIN_PIECE = 0.04  # a piece with less than 4% of the largest piece's ink is a speck
# MNIST's digits are 0.2 ('1') to 1.4 times as wide as tall (1st-99th percentile, train set), median 0.8:
# width alone cannot tell a wide '0' from two touching digits, so the model's reading decides.
SPLIT_WIDTH = 0.3  # a group narrower than this many line heights per digit is not cut into that many
MAX_SPLIT = 4  # at most this many touching digits in one group of ink
MAX_MERGE = 3  # a digit broken into at most this many side-by-side groups...
MERGE_GAP = 0.1  # ...each starting at most this many line heights right of the one before...
MERGE_WIDTH = 1.2  # ...together at most this many line heights wide, all but the tallest...
FRAGMENT_HEIGHT = 0.7  # ...shorter than this many line heights (two '1's side by side stay two digits)
DIGIT_COST = 0.02  # log-probability per digit: of two equally sure readings, the one with fewer digits wins
MAX_DIGITS = 32


@dataclass(frozen=True)
class DigitBox:
    top: int
    bottom: int
    left: int
    right: int


def _pieces(soft: np.ndarray, labels: np.ndarray, count: int) -> list[tuple[DigitBox, np.ndarray]]:
    """Connected ink pieces (box, their own mask over the box), largest first, specks dropped."""
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


def _join_stacked(pieces: list[DigitBox]) -> tuple[list[DigitBox], list[list[int]]]:
    """Join pieces whose columns overlap by more than half of the narrower one, left to right: the joined
    boxes and, for each, the indices of its pieces in `pieces`."""
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].left)
    joined: list[DigitBox] = []
    members: list[list[int]] = []
    for index in order:
        box = pieces[index]
        if joined:
            last = joined[-1]
            overlap = min(last.right, box.right) - max(last.left, box.left)
            if overlap > 0.5 * min(last.right - last.left, box.right - box.left):
                joined[-1] = DigitBox(min(last.top, box.top), max(last.bottom, box.bottom),
                                      min(last.left, box.left), max(last.right, box.right))
                members[-1].append(index)
                continue
        joined.append(box)
        members.append([index])
    return joined, members


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


@dataclass(frozen=True)
class Reading:
    """One way to read a run of ink groups: `first`..`last` (inclusive) as `len(patches)` digits."""

    first: int
    last: int
    patches: tuple


def _group_masks(labels: np.ndarray, pieces: list[tuple[DigitBox, np.ndarray]], boxes: list[DigitBox],
                 members: list[list[int]]) -> list[np.ndarray]:
    """Each group's own ink as a mask over the page: its pieces, grown by a pixel to keep their soft rim (a
    neighbour's stroke reaching into the group's box is left out)."""
    masks = []
    for box, indices in zip(boxes, members):
        mask = np.zeros(labels.shape, dtype=np.uint8)
        for index in indices:
            piece_box, piece_mask = pieces[index]
            mask[piece_box.top : piece_box.bottom, piece_box.left : piece_box.right] |= piece_mask
        masks.append(_dilate(mask, 3).astype(bool))
    return masks


def _crop(region: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(region > 0.05)
    return region[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] if ys.size else None


def split_number(soft: np.ndarray) -> list[Reading]:
    """Soft ink [H, W] of a page (`page_ink(...).soft`) -> the candidate readings of its groups of ink
    (left to right): each group as one digit or, where it is wide enough, 2-4 touching digits; and runs of
    up to three neighbouring groups as one digit broken into pieces, where together they are no wider than
    a digit. `read_number` lets the model choose the most probable path through them."""
    labels, count = _label(soft > PIECE_INK)
    pieces = _pieces(soft, labels, count)
    if not pieces:
        raise NoDigitError("no digit found (only noise)")
    pieces = _on_the_line(pieces)
    boxes, members = _join_stacked([box for box, _ in pieces])
    # The line's digit height: the tallest group is the surest (a '-' or a dot is not a digit).
    height = max(b.bottom - b.top for b in boxes)
    keep = [i for i, b in enumerate(boxes) if max(b.bottom - b.top, b.right - b.left) >= 0.25 * height]
    boxes, members = [boxes[i] for i in keep], [members[i] for i in keep]
    if len(boxes) > MAX_DIGITS:
        raise NoDigitError(f"no number found ({len(boxes)} marks on the line: more than {MAX_DIGITS} digits)")
    masks = _group_masks(labels, pieces, boxes, members)
    readings = []
    for first, box in enumerate(boxes):
        region = np.where(masks[first], soft, 0.0)[box.top : box.bottom, box.left : box.right]
        width = box.right - box.left
        for count_ in range(1, MAX_SPLIT + 1):
            if count_ > 1 and width < SPLIT_WIDTH * count_ * height:
                break
            parts = tuple(_parts(region, count_, height))
            if len(parts) == count_:
                readings.append(Reading(first, first, parts))
        # A digit broken into side-by-side pieces (a '5' whose flag floats right, an open '6'): neighbours
        # that overlap or nearly touch, together no wider than a wide digit.
        mask = masks[first]
        left, right, top, bottom = box.left, box.right, box.top, box.bottom
        tall = 0  # how many of the run's groups are full-height digits rather than fragments
        for last in range(first, min(first + MAX_MERGE, len(boxes))):
            other = boxes[last]
            tall += other.bottom - other.top >= FRAGMENT_HEIGHT * height
            if last == first:
                continue
            if other.left - right > MERGE_GAP * height or tall > 1:
                break
            left, right = min(left, other.left), max(right, other.right)
            top, bottom = min(top, other.top), max(bottom, other.bottom)
            if right - left > MERGE_WIDTH * height:
                break
            mask = mask | masks[last]
            patch = _crop(np.where(mask, soft, 0.0)[top:bottom, left:right])
            if patch is not None:
                readings.append(Reading(first, last, (patch,)))
    return readings


def read_number(image: Image.Image, predict) -> tuple[list[int], np.ndarray]:
    """A photo of a written number -> (its digits left to right, their probabilities [n, 10]).

    `predict` maps uint8 [N, 28, 28] MNIST-like images to probabilities [N, 10] (a model's). Of all ways to
    cut the line into digits (`split_number`), the one whose digits are jointly most probable wins (the
    product of each digit's top probability): halves of a wide '0' read as a '6' and a '1' lose to the whole
    '0' the model is sure of. Raises NoDigitError when the page holds no digits.
    """
    return read_ink(page_ink(image).soft, predict)


def read_ink(soft: np.ndarray, predict) -> tuple[list[int], np.ndarray]:
    """`read_number` on a page's soft ink (`page_ink(...).soft`)."""
    readings = split_number(soft)
    flat = [part for reading in readings for part in reading.patches]
    widest = max(p.shape[0] for p in flat)
    check_strokes(np.concatenate([np.pad(p, ((0, widest - p.shape[0]), (0, 2))) for p in flat], axis=1))
    probs = np.asarray(predict(np.stack([ink_to_mnist(p) for p in flat])), dtype=np.float64)
    groups = max(r.last for r in readings) + 1
    # best[k]: the most probable reading of groups 0..k-1 (score, its rows of probabilities).
    best: list[tuple[float, list] | None] = [(0.0, [])] + [None] * groups
    at = 0
    for reading in readings:  # ordered by first group, so best[first] is final when it is used
        rows = probs[at : at + len(reading.patches)]
        at += len(reading.patches)
        before = best[reading.first]
        if before is None:
            continue
        score = before[0] + float(np.sum(np.log(np.maximum(rows.max(axis=1), 1e-9)))) - DIGIT_COST * len(rows)
        if best[reading.last + 1] is None or score > best[reading.last + 1][0]:
            best[reading.last + 1] = (score, before[1] + [rows])
    chosen = np.concatenate(best[groups][1])
    return [int(d) for d in chosen.argmax(axis=1)], chosen.astype(np.float32)
