"""`paddle.data_type`: what a v2 data layer holds per sample.

Not run directly; `paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))`.
Covered: dense_vector(dim) (float32 features; an image when a conv or pool layer reads it) and
integer_value(value_range) (a class label in [0, value_range)). Sequences and sparse inputs are not.
"""
from __future__ import annotations

from dataclasses import dataclass

from ._names import uncovered, v2_getattr


@dataclass(frozen=True)
class InputType:
    dim: int
    kind: str  # "dense" or "index"

    def __repr__(self) -> str:
        return f"dense_vector({self.dim})" if self.kind == "dense" else f"integer_value({self.dim})"


def dense_vector(dim, seq_type=0) -> InputType:
    """A vector of `dim` floats per sample."""
    _no_sequence("dense_vector", seq_type)
    return InputType(int(dim), "dense")


def integer_value(value_range, seq_type=0) -> InputType:
    """One integer in [0, value_range) per sample (a label)."""
    _no_sequence("integer_value", seq_type)
    return InputType(int(value_range), "index")


def _no_sequence(name: str, seq_type) -> None:
    if seq_type:
        raise uncovered(f"paddle.v2.data_type.{name}(seq_type={seq_type!r})", _SEQUENCES)


_SEQUENCES = "nothing: LoD sequences were removed; pad the batch and use paddle.io.DataLoader (docs/porting.md)"
__getattr__ = v2_getattr("data_type", {
    "dense_vector_sequence": _SEQUENCES,
    "dense_vector_sub_sequence": _SEQUENCES,
    "integer_value_sequence": _SEQUENCES,
    "integer_value_sub_sequence": _SEQUENCES,
    "sparse_binary_vector": "a dense_vector of 0/1 values, or paddle.sparse",
    "sparse_vector": "a dense_vector, or paddle.sparse",
    "sparse_binary_vector_sequence": _SEQUENCES,
    "sparse_float_vector": "a dense_vector, or paddle.sparse",
})
