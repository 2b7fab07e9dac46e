"""`paddle.pooling`: the pooling kinds of `paddle.layer.img_pool` (max, or average over the window).

Not run directly; `paddle.layer.img_pool(input=conv, pool_size=2, pool_type=paddle.pooling.Max())`.
"""
from __future__ import annotations

from ._names import v2_getattr


class BasePoolingType:
    name = ""

    def __repr__(self) -> str:
        return f"paddle.pooling.{type(self).__name__}()"


class Max(BasePoolingType):
    """The largest value in each window."""

    name = "max"


class Avg(BasePoolingType):
    """The mean of each window; padding cells are left out of the count, as v2's exclude_mode=None did."""

    name = "avg"


__getattr__ = v2_getattr("pooling", {
    "Sum": "nothing for images (sequence pooling was removed); paddle.sum over the window",
    "SquareRootN": "nothing: LoD sequences were removed",
    "CudnnMax": "paddle.pooling.Max (one implementation serves CPU and GPU)",
    "CudnnAvg": "paddle.pooling.Avg (one implementation serves CPU and GPU)",
    "CudnnAvgInclPad": "paddle.layer.img_pool(..., pool_type=paddle.pooling.Avg(), exclude_mode=False)",
    "MaxWithMask": "paddle.nn.functional.max_pool2d(x, ..., return_mask=True)",
})
