"""`fluid.layers.loss`: cross_entropy on probabilities, per example, as fluid computed it.

Not run directly; `fluid.layers.cross_entropy(input=prediction, label=label)` works as in the book.
"""
from __future__ import annotations

from .._compat import legacy_paddle, module_getattr, warn_once
from ._hints import REPLACEMENTS

paddle = legacy_paddle()
F = paddle.nn.functional

_IGNORE_INDEX = -100  # fluid's kIgnoreIndex


def cross_entropy(input, label, soft_label=False, ignore_index=_IGNORE_INDEX):
    """fluid.layers.cross_entropy: -log(input[label]) per example, shape [N, 1]; `input` holds probabilities."""
    warn_once(
        "fluid.layers.cross_entropy",
        "paddle.nn.functional.cross_entropy expects logits and averages by default; for fluid's "
        "probabilities-in, per-example-out behaviour write paddle.nn.functional.cross_entropy(input, label, "
        "soft_label=soft_label, ignore_index=ignore_index, use_softmax=False, reduction='none')",
    )
    return F.cross_entropy(
        input, label, soft_label=soft_label, ignore_index=ignore_index, use_softmax=False, reduction="none"
    )


__getattr__ = module_getattr("fluid.layers.loss", REPLACEMENTS)
