"""Winograd convolutions for the openvino backend: an OpenVINO graph's small-kernel convolutions rewritten as
transform, batched matrix products, inverse transform (Lavin & Gray 2016, "Fast Algorithms for Convolutional
Neural Networks").

Not run directly; `OpenVinoModel` (backends.py) applies `with_winograd_convolutions` to the graph it compiles
for batches. Why: OpenVINO 2026.4's CPU plugin runs these layers as direct convolutions; on the shipped cnn
its 5x5 conv over 20 channels was ~65% of a batch's time. F(4x4, 5x5) does the same sums with 64 multiplies
per 4x4 output tile and channel pair instead of 400, and the products become one matrix multiply per tile
position over the whole batch - the shape CPU GEMM kernels are fastest at. One image gains nothing (the
transforms cost more than the multiplies they save), so the backend keeps the direct graph for it.

The arithmetic is exact in rationals (matrices from Cook-Toom interpolation at 0, +-1, +-2, +-1/2, ...); in
float32 the answers move by rounding only, a few 1e-6 in the probabilities of the shipped models (tests).
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

# Interpolation points in the order they are taken: small magnitudes keep float32 rounding small.
POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2),
          Fraction(3), Fraction(-3), Fraction(1, 3), Fraction(-1, 3))
# Output tile size per kernel size rewritten: F(4x4, 5x5), 8x8 input tiles (bigger tiles save more multiplies
# but round worse: an 8x8 tile already needs the points +-1/2). 3x3 kernels stay direct: oneDNN's 3x3 kernels
# are already good and the transposes cost more than the multiplies saved (shipped vgg, 125 images on 1
# thread: 240 us an image direct, 486 us with F(4x4, 3x3)).
TILE = {5: 4}
# Fewer input channels than this stay direct: the products are then too thin to pay for the transforms
# (the cnn's first layer, 1 channel: with it rewritten too a 125-image request on 1 thread took 70 us an
# image, against 36 with only the second conv rewritten).
MIN_CHANNELS = 8


def _inverse(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """Gauss-Jordan inverse in exact fractions (matrices up to 8x8 here)."""
    size = len(matrix)
    work = [list(row) + [Fraction(int(i == j)) for j in range(size)] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = next(r for r in range(col, size) if work[r][col] != 0)
        work[col], work[pivot] = work[pivot], work[col]
        lead = work[col][col]
        work[col] = [value / lead for value in work[col]]
        for r in range(size):
            if r != col and work[r][col] != 0:
                factor = work[r][col]
                work[r] = [a - factor * b for a, b in zip(work[r], work[col])]
    return [row[size:] for row in work]


@functools.lru_cache(maxsize=None)
def winograd_matrices(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A^T (m x n), G (n x r), B^T (n x n) of F(m, r), n = m + r - 1, as float64 arrays of exact rationals:
    for d of length n and g of length r, `A^T @ ((G @ g) * (B^T @ d))` is the correlation
    `[sum_k d[i + k] * g[k] for i in range(m)]`.

    Toom-Cook: evaluate at n - 1 points and infinity (V), multiply pointwise, interpolate back; correlation is
    the transpose of convolution, so A^T and G are evaluation (Vandermonde) matrices and B^T = V^-T. Each
    row j of G is divided by prod_{l != j} (a_j - a_l) and the row of B^T multiplied by it, the usual scaling
    that keeps B^T's entries small integers.
    """
    n = m + r - 1
    points = POINTS[: n - 1]

    def vandermonde(columns: int) -> list[list[Fraction]]:
        rows = [[a ** k for k in range(columns)] for a in points]
        return rows + [[Fraction(int(k == columns - 1)) for k in range(columns)]]  # the point at infinity

    scale = [math.prod((a - b for b in points if b != a), start=Fraction(1)) for a in points] + [Fraction(1)]
    a_t = [list(col) for col in zip(*vandermonde(m))]
    g = [[value / s for value in row] for row, s in zip(vandermonde(r), scale)]
    b_t = [[value * s for value in row] for row, s in zip(map(list, zip(*_inverse(vandermonde(n)))), scale)]
    as_array = lambda rows: np.array([[float(v) for v in row] for row in rows])  # noqa: E731
    return as_array(a_t), as_array(g), as_array(b_t)


def tile_transform(b_t: np.ndarray, m: int, tiles: int, length: int) -> np.ndarray:
    """[(n * tiles), length]: B^T applied to every tile of an axis of `length` values at once. Tile t covers
    values t*m .. t*m + n - 1 (the tiles overlap by r - 1); values past the end of the axis are zeros, so the
    columns for them are dropped. Row xi * tiles + t holds B^T's row xi shifted to tile t."""
    n = b_t.shape[0]
    out = np.zeros((n, tiles, (tiles - 1) * m + n))
    for t in range(tiles):
        out[:, t, t * m : t * m + n] = b_t
    return out.reshape(n * tiles, -1)[:, :length]


def eligible(conv) -> bool:
    """Whether OpenVINO node `conv` is a convolution this module rewrites: a plain 2-D `Convolution` (stride 1,
    no dilation) with a constant square kernel of a size in TILE over at least MIN_CHANNELS input channels,
    spatial sizes and channels known."""
    if conv.get_type_name() != "Convolution":
        return False
    weights = conv.input_value(1).get_node()
    shape = conv.input_value(0).get_partial_shape()
    if weights.get_type_name() != "Constant" or shape.rank.is_dynamic or shape.rank.get_length() != 4:
        return False
    if not all(shape[axis].is_static for axis in (1, 2, 3)):
        return False
    attrs = conv.get_attributes()
    kernel = tuple(weights.get_output_shape(0))
    return (list(attrs["strides"]) == [1, 1] and list(attrs["dilations"]) == [1, 1]
            and attrs["auto_pad"] in ("explicit", "notset", "valid")
            and kernel[2] == kernel[3] and kernel[2] in TILE and kernel[1] == shape[1].get_length()
            and kernel[1] >= MIN_CHANNELS)


def _fused_pool(conv, m: int, out_h: int, out_w: int):
    """The 2x2 stride-2 max pool that alone consumes `conv`'s output, when it can be taken inside the tiles
    (even tile size, whole tiles, no padding); else None."""
    consumers = list(conv.output(0).get_target_inputs())
    if len(consumers) != 1 or m % 2 or out_h % m or out_w % m:
        return None
    pool = consumers[0].get_node()
    if pool.get_type_name() != "MaxPool" or any(len(out.get_target_inputs()) for out in pool.outputs()[1:]):
        return None
    attrs = pool.get_attributes()
    plain = (list(attrs["kernel"]) == [2, 2] and list(attrs["strides"]) == [2, 2]
             and not any(attrs["pads_begin"]) and not any(attrs["pads_end"])
             and list(attrs.get("dilations", [1, 1])) == [1, 1])
    return pool if plain else None


def winograd_convolution(ops, conv):
    """An OpenVINO subgraph equal to `eligible` node `conv` (and to the max pool after it when `_fused_pool`
    finds one), and the node whose output it replaces.

    Layout: the batch goes inside, [H, W, N, C], so that each transform is one matrix product over a whole
    axis of the batch (`tile_transform`) and the multiplies of each tile position are one MatMul of
    [tiles of the batch, c_in] x [c_in, c_out]. Measured on the shipped cnn (1 thread, 125 images): the whole
    request 59 -> 36 us an image; in OpenVINO's per-op profile the direct conv2 took 5.4 ms, this subgraph with
    its pool about 3 ms. Transposes that move the batch are the cost that
    remains (OpenVINO runs most permutations with a generic kernel: ~0.3 ms per 400,000 floats)."""
    data = conv.input_value(0)
    weights = conv.input_value(1).get_node().get_data().astype(np.float64)
    attrs = conv.get_attributes()
    pads_begin, pads_end = list(attrs["pads_begin"]), list(attrs["pads_end"])
    if attrs["auto_pad"] == "valid":
        pads_begin = pads_end = [0, 0]
    c_out, c_in, r, _ = weights.shape
    m = TILE[r]
    n = m + r - 1
    a_t, g, b_t = winograd_matrices(m, r)
    height = data.get_partial_shape()[2].get_length() + pads_begin[0] + pads_end[0]
    width = data.get_partial_shape()[3].get_length() + pads_begin[1] + pads_end[1]
    out_h, out_w = height - r + 1, width - r + 1
    tiles_h, tiles_w = -(-out_h // m), -(-out_w // m)
    f32 = lambda array: ops.constant(np.ascontiguousarray(array, dtype=np.float32))  # noqa: E731
    shape = lambda *values: ops.constant(np.array(values, np.int64))  # noqa: E731
    if any(pads_begin) or any(pads_end):
        data = ops.pad(data, np.array([0, 0, *pads_begin], np.int64), np.array([0, 0, *pads_end], np.int64),
                       "constant")
    x = ops.reshape(ops.transpose(data, shape(2, 3, 0, 1)), shape(height, -1), False)  # [H, W*N*C]
    # B^T d B of every n x n tile: rows (xi, tile row), then columns (nu, tile column).
    x = ops.matmul(f32(tile_transform(b_t, m, tiles_h, height)), x, False, False)
    x = ops.reshape(x, shape(n * tiles_h, width, -1), False)
    x = ops.matmul(f32(tile_transform(b_t, m, tiles_w, width)), x, False, False)
    x = ops.transpose(ops.reshape(x, shape(n, tiles_h, n, -1), False), shape(0, 2, 1, 3))
    spectra = ops.reshape(x, shape(n * n, -1, c_in), False)  # [(xi, nu), (tile, image), c_in]
    filters = np.einsum("xi,ocij,yj->xyco", g, weights, g).reshape(n * n, c_in, c_out)  # G g G^T
    products = ops.matmul(spectra, f32(filters), False, False)  # [(xi, nu), (tile, image), c_out]
    # A^T M A of every tile: over xi, then over nu.
    y = ops.matmul(f32(a_t), ops.reshape(products, shape(n, -1), False), False, False)
    y = ops.matmul(f32(a_t), ops.reshape(y, shape(m, n, -1), False), False, False)  # [a, b, tile, image, c]
    pool = _fused_pool(conv, m, out_h, out_w)
    if pool is not None:  # max over each 2x2 block of the m x m tile
        y = ops.reduce_max(ops.reshape(y, shape(m // 2, 2, m // 2, 2, -1), False), shape(1, 3), False)
        m, out_h, out_w = m // 2, out_h // 2, out_w // 2
    y = ops.transpose(ops.reshape(y, shape(m, m, tiles_h, tiles_w, -1, c_out), False), shape(2, 0, 3, 1, 4, 5))
    y = ops.reshape(y, shape(tiles_h * m, tiles_w * m, -1, c_out), False)
    if tiles_h * m != out_h or tiles_w * m != out_w:  # the partial last tiles' extra outputs
        y = ops.slice(y, shape(0, 0), shape(out_h, out_w), shape(1, 1), shape(0, 1))
    return ops.transpose(y, shape(2, 3, 0, 1)), (pool if pool is not None else conv)


def with_winograd_convolutions(model):
    """A clone of OpenVINO model `model` with every `eligible` convolution replaced by
    `winograd_convolution`, and the friendly names of the replaced ones; `model` itself when none is."""
    if not any(eligible(op) for op in model.get_ordered_ops()):
        return model, []
    import openvino.opset13 as ops

    clone = model.clone()
    names = []
    for conv in clone.get_ordered_ops():
        if not eligible(conv):
            continue
        replacement, replaced = winograd_convolution(ops, conv)
        replacement.set_friendly_name(replaced.get_friendly_name())
        replaced.output(0).replace(replacement.output(0))
        names.append(conv.get_friendly_name())
    if names:
        clone.validate_nodes_and_infer_types()
    return clone, names
