"""Batches of v2 samples -> the feed dict of a topology's data layers (v2's DataFeeder and `feeding`).

Not run directly; the trainer and `paddle.infer` use it. A batch is a list of samples, each a tuple (or
list) of fields; `feeding` says which field feeds which data layer: a dict {name: index}, a list of names
in field order, or None for the data layers in the order they were created (paddle/v2/data_feeder.py).
"""
from __future__ import annotations

import numpy as np


class DataFeeder:
    def __init__(self, data_types, feeding=None):
        names = [name for name, _ in data_types]
        if feeding is None:
            feeding = {name: index for index, name in enumerate(names)}
        elif isinstance(feeding, (list, tuple)):
            feeding = {name: index for index, name in enumerate(feeding)}
        elif not isinstance(feeding, dict):
            raise TypeError(f"feeding should be a dict, a sequence of names or None, got {feeding!r}")
        missing = [name for name in names if name not in feeding]
        if missing:
            raise ValueError(f"feeding {feeding} does not say which field feeds data layer {missing[0]!r}")
        self.columns = [(name, data_type, feeding[name]) for name, data_type in data_types]

    def __call__(self, batch) -> dict:
        feed = {}
        for name, data_type, index in self.columns:
            try:
                column = [sample[index] for sample in batch]
            except (IndexError, KeyError, TypeError):
                raise ValueError(f"a sample has no field {index!r} for data layer {name!r}; samples must be tuples "
                                 f"such as (image, label) - check `feeding`") from None
            feed[name] = _dense(name, data_type.dim, column) if data_type.kind == "dense" else \
                _labels(name, data_type.dim, column)
        return feed


def _dense(name: str, dim: int, column: list) -> np.ndarray:
    try:
        values = np.asarray(column, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"data layer {name!r}: the samples are not all vectors of {dim} numbers") from None
    values = values.reshape(len(column), -1)
    if values.shape[1] != dim:
        raise ValueError(f"data layer {name!r} is dense_vector({dim}) but a sample has {values.shape[1]} values")
    return values


def _labels(name: str, value_range: int, column: list) -> np.ndarray:
    values = np.asarray(column)
    if values.size != len(column) or values.dtype.kind not in "iub":
        raise ValueError(f"data layer {name!r} is integer_value({value_range}): each sample needs one integer")
    values = values.astype(np.int64).reshape(-1, 1)
    bad = values[(values < 0) | (values >= value_range)]
    if bad.size:
        raise ValueError(f"data layer {name!r} is integer_value({value_range}) but got {int(bad[0])}")
    return values
