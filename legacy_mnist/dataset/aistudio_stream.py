"""Read the AI Studio `mnist.json.gz` layout while streaming, never holding more than MNIST itself.

Not run directly; `legacy_mnist.dataset.aistudio.load_aistudio` reads through `read_layout`.
`json.loads` would hold the whole decompressed text and a Python object per number - a 2.7 MB file that
expands to 1.6 GB of `0,` exhausted memory. The layout is fixed, `[[images, labels], [images, labels],
[images, labels]]` with each image a list of 784 numbers, so it is checked bracket by bracket as the text
streams in: each image's numbers go straight into a float32 array (at most MAX_IMAGES of them), a part
with the wrong shape or anything that is not a number is an error at once, and no run of text between
two brackets may be longer than a list of numbers can be.
"""
from __future__ import annotations

import codecs
import json
import re
from typing import Iterable

import numpy as np

from ..errors import DataError
from .idx import COLS, MAX_IMAGES, ROWS

PIXELS = ROWS * COLS
_BRACKET = re.compile(r"[\[\]]")
_BATCH = 1024  # images parsed by one json.loads call: C speed, a few MB of Python objects at a time
_SHARED_FLOATS = 1 << 16
_MAX_NUMBER_TEXT = 40  # "-0.0039215686274509803" and JSON's exponent forms fit; 784 of these make an image
_MAX_GAP = 4096  # whitespace and one comma between two lists
LAYOUT = "expected [[train_imgs, train_labels], [val_imgs, val_labels], [eval_imgs, eval_labels]]"


def _no_constant(name: str):
    raise ValueError(f"{name} is not a pixel value")


class _SharedFloats(dict):
    """json's parse_float hook: one float object per distinct spelling (MNIST has about 256), up to a bound."""

    def __missing__(self, text: str) -> float:
        value = float(text)
        if len(self) < _SHARED_FLOATS:
            self[text] = value
        return value


class _Layout:
    """The parse state: depth 1 the whole file, 2 a part, 3 a part's images or labels list, 4 an image."""

    def __init__(self, where: str, part_names: tuple[str, ...]):
        self.where, self.part_names = where, part_names
        self.depth = 0
        self.children = [0, 0, 0, 0, 0]  # lists opened so far at each depth (index = depth of the parent)
        self.run: list[str] = []
        self.run_size = 0
        # Allocated once, at MNIST's size; the OS commits its pages only as images are written into it.
        self.images = np.empty((MAX_IMAGES, PIXELS), np.float32)
        self.count = 0
        self.part_images = [0] * len(part_names)
        self.labels: list[np.ndarray] = []
        self.done = False
        self.batch: list[str] = []  # image texts waiting for one json.loads
        self.floats = _SharedFloats()

    # ------------------------------------------------------------------------------------- errors
    def _part(self) -> str:
        index = self.children[1] - 1
        return self.part_names[index] if 0 <= index < len(self.part_names) else "?"

    def fail(self, text: str) -> DataError:
        return DataError(f"{self.where}: {text}")

    def in_part(self, text: str) -> DataError:
        return DataError(f"{self.where} ({self._part()} part): {text}")

    # ------------------------------------------------------------------------------------ text runs
    def _limit(self) -> int:
        if self.depth == 4:
            return PIXELS * _MAX_NUMBER_TEXT
        if self.depth == 3 and self.children[2] == 2:  # a labels list
            return MAX_IMAGES * _MAX_NUMBER_TEXT
        return _MAX_GAP

    def text(self, piece: str) -> None:
        if not piece:
            return
        if self.done:
            if piece.strip():
                raise self.fail("not valid JSON (text after the data)")
            return
        if self.depth == 0:
            if piece.strip():
                raise self.fail("not valid JSON (expected a list)")
            return
        self.run_size += len(piece)
        if self.run_size > self._limit():
            if self.depth == 4:
                raise self.fail(f"every image must be a list of {PIXELS} numbers")
            raise self.fail("not valid JSON, or not the AI Studio layout (unexpected text between lists)")
        self.run.append(piece)

    def _take_run(self) -> str:
        run = "".join(self.run)
        self.run.clear()
        self.run_size = 0
        return run

    def _gap(self, run: str, comma: bool) -> None:
        """The text between two lists (or a bracket and a list): a comma exactly when one is needed."""
        if run.strip() != ("," if comma else ""):
            if self.depth == 3 and self.children[2] == 1:
                raise self.fail(f"every image must be a list of {PIXELS} numbers")
            raise self.fail("not valid JSON" if run.strip() not in (",", "") else "not valid JSON (misplaced comma)")

    # ------------------------------------------------------------------------------------- brackets
    def open(self) -> None:
        if self.done:
            raise self.fail("not valid JSON (text after the data)")
        if self.depth == 3 and self.children[2] == 2:
            raise self.in_part("labels must be a flat list of digits 0..9")
        if self.depth == 4:
            raise self.fail(f"every image must be a list of {PIXELS} numbers")
        run = self._take_run()
        self._gap(run, self.depth > 0 and self.children[self.depth] > 0)
        if self.depth >= 1:
            self.children[self.depth] += 1
        if (self.depth == 1 and self.children[1] > len(self.part_names)) or (self.depth == 2 and self.children[2] > 2):
            raise self.fail(LAYOUT)
        self.depth += 1
        self.children[self.depth] = 0

    def close(self) -> None:
        if self.depth == 0:
            raise self.fail("not valid JSON (unbalanced ])")
        run = self._take_run()
        if self.depth == 4:
            self._image(run)
        elif self.depth == 3 and self.children[2] == 2:
            self._labels(run)
        else:
            if self.depth == 3 and run.strip() and self.children[3] == 0:  # numbers right in the images list
                raise self.fail(f"every image must be a list of {PIXELS} numbers")
            self._gap(run, False)
            if self.depth == 2 and self.children[2] != 2:
                raise self.fail(LAYOUT)
            if self.depth == 1 and self.children[1] != len(self.part_names):
                raise self.fail(LAYOUT)
        self.depth -= 1
        if self.depth == 0:
            self.done = True

    def _numbers(self, texts: list[str], error: DataError) -> list:
        """Parse comma-separated numbers (several lists at once) with json: [[numbers], [numbers], ...].

        json itself refuses anything that is not JSON; what JSON allows but a number is not - strings,
        true/false/null, NaN/Infinity - is refused here ('"', 't', 'f', 'n' never occur in a number).
        """
        text = "[[" + "],[".join(texts) + "]]"
        if any(mark in text for mark in ('"', "t", "f", "n")):
            raise error
        try:
            return json.loads(text, parse_float=self.floats.__getitem__, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise error from None

    def _image(self, run: str) -> None:
        if self.count + len(self.batch) >= MAX_IMAGES:
            raise self.fail(f"holds more than {MAX_IMAGES:,} images; MNIST has {MAX_IMAGES:,}")
        self.batch.append(run)
        self.part_images[self.children[1] - 1] += 1
        if len(self.batch) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        error = f"every image must be a list of {PIXELS} numbers"
        values = self._numbers(self.batch, self.fail(error))
        if any(len(image) != PIXELS for image in values):
            found = next(len(image) for image in values if len(image) != PIXELS)
            raise self.fail(f"{error} (found {found})")
        self.images[self.count : self.count + len(values)] = values
        self.count += len(values)
        self.batch.clear()

    def _labels(self, run: str) -> None:
        self.flush()  # the part's images are complete
        error = self.in_part("labels must be a flat list of digits 0..9")
        (values,) = self._numbers([run], error) if run.strip() else ([],)
        self.labels.append(np.asarray(values, dtype=np.float64))


def read_layout(chunks: Iterable[bytes], where: str, part_names: tuple[str, ...]):
    """Parse the layout from a stream of byte chunks: (float32 images [N, 784], per-part image counts,
    per-part float64 label arrays). DataError naming `where` for anything else."""
    layout = _Layout(where, part_names)
    decoder = codecs.getincrementaldecoder("ascii")()
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            position = 0
            for match in _BRACKET.finditer(text):
                layout.text(text[position : match.start()])
                layout.open() if match.group() == "[" else layout.close()
                position = match.end()
            layout.text(text[position:])
        layout.text(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise layout.fail("not valid JSON (bytes that are not ASCII text)") from None
    if not layout.done:
        raise layout.fail("not valid JSON (the data ends inside a list: truncated?)")
    layout.flush()
    return layout.images[: layout.count], layout.part_images, layout.labels
