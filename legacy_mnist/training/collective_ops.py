"""The collective ops a data-parallel step carries (gloo all_reduce of gradients and statistics), inserted into the legacy-IR program.

Not run directly; `python -m legacy_mnist.train --nproc N` (training.distributed.GlooDataParallel) inserts them.
"""
from __future__ import annotations

import math

from ..errors import PipelineFailure


RING = 0  # the one communication ring; training.distributed creates the gloo context for it
SUM, MAX = 0, 1  # all_reduce's reduce_type
SHARE_FEED = "dist_share"  # this rank's share of the global batch, fed every step
STOP_FEED = "dist_stop"  # 1.0 when this rank got SIGINT/SIGTERM


def _persistable_tensors(program) -> list:
    from ..paddle_env import import_paddle

    dense = import_paddle().base.core.VarDesc.VarType.LOD_TENSOR
    return [var for var in program.list_vars() if var.persistable and var.type == dense]


def add_data_parallel_ops(paddle, programs):
    """Edit `programs.main` for data parallelism; returns (the summed [cost, acc, stop] variable to fetch,
    the program that broadcasts rank 0's variables). The test program and the export stay untouched.

    Between backward and the first optimizer op, one buffer is built from every gradient, batch norm's running
    statistics, the cost and the accuracy (flattened), scaled by this rank's share of the batch, joined by the
    stop request, summed over the ranks by ONE all_reduce, and split back in place: gloo's cost per
    all_reduce is mostly latency (docs/scaling.md: the cnn's 11 tensors one by one cost 17x a single
    all_reduce of the same 33,663 floats).
    """
    from ..paddle_env import ir_guard

    main = programs.main
    with ir_guard("legacy"):
        with paddle.static.program_guard(main, programs.startup):
            share = paddle.static.data(SHARE_FEED, [1], "float32")
            stop = paddle.static.data(STOP_FEED, [1], "float32")
        block = main.global_block()
        cost, acc = programs.train_fetches
        averaged = gradient_names(main) + batch_norm_statistics(main)
        stats = insert_fused_sum(block, first_optimizer_op(block), averaged, [cost.name, acc.name],
                                 share.name, stop.name)
        return stats, broadcast_program(paddle, main)


OPTIMIZE_ROLE = 2  # core.op_proto_and_checker_maker.OpRole.Optimize


def first_optimizer_op(block) -> int:
    """Index of the first optimizer-role op (regularization, clipping, the update): the end of backward."""
    role = "op_role"
    for index, op in enumerate(block.ops):
        if op.has_attr(role) and int(op.attr(role)) & OPTIMIZE_ROLE:
            return index
    raise PipelineFailure("the training program has no optimizer ops to insert the gradient all_reduce before")


def gradient_names(program) -> list[str]:
    """The gradient of every trainable parameter, in parameter order."""
    block = program.global_block()
    names = [f"{p.name}@GRAD" for p in block.all_parameters() if p.trainable]
    missing = [name for name in names if not block.has_var(name)]
    if missing:
        raise PipelineFailure(f"no gradient variable {missing[0]} in the training program")
    return names


def batch_norm_statistics(program) -> list[str]:
    """Running mean and variance updated by each training-mode batch_norm op."""
    names = []
    for op in program.global_block().ops:
        if op.type == "batch_norm" and not op.attr("is_test"):
            names += [op.output("MeanOut")[0], op.output("VarianceOut")[0]]
    return names


class _Inserter:
    """Inserts raw ops into a block at a moving position (each op infers its outputs' shapes)."""

    def __init__(self, block, index: int):
        self.block, self.index, self.count = block, index, 0

    def var(self, stem: str, dtype):
        self.count += 1
        return self.block.create_var(name=f"dist_{stem}_{self.count}", dtype=dtype, shape=[-1])

    def op(self, type: str, inputs: dict, outputs: dict, attrs: dict) -> None:
        self.block._insert_op(self.index, type=type, inputs=inputs, outputs=outputs, attrs=attrs)
        self.index += 1


def insert_fused_sum(block, index: int, averaged: list[str], reported: list[str], weight: str, stop: str):
    """Before op `index`: each `averaged` variable becomes the sum over ranks of (weight * itself), in place;
    returns a new variable holding the sums of weight * each `reported` scalar, then the sum of `stop`."""
    at = _Inserter(block, index)
    names = averaged + reported
    shapes = [list(block.var(name).shape) for name in names]
    dtype = block.var(names[0]).dtype
    flats = []
    for name in names:
        flats.append(at.var("flat", dtype))
        at.op("reshape2", {"X": [name]}, {"Out": [flats[-1]], "XShape": [at.var("xshape", dtype)]}, {"shape": [-1]})
    local, fused = at.var("local", dtype), at.var("fused", dtype)
    at.op("concat", {"X": flats}, {"Out": [local]}, {"axis": 0})
    at.op("scale", {"X": [local], "ScaleTensor": [weight]}, {"Out": [local]}, {"scale": 1.0, "bias": 0.0})
    at.op("concat", {"X": [local, stop]}, {"Out": [fused]}, {"axis": 0})  # a stop request is not weighted
    at.op("all_reduce", {"x": [fused]}, {"out": [fused]}, {"ring_id": RING, "reduce_type": SUM})
    pieces = [at.var("piece", dtype) for _ in names] + [at.var("stop", dtype)]
    sizes = [max(1, math.prod(shape)) for shape in shapes] + [1]  # a 0-d cost holds one value
    at.op("split", {"X": [fused]}, {"Out": pieces}, {"axis": 0, "sections": sizes, "num": 0})
    for name, shape, piece in zip(averaged, shapes, pieces):
        at.op("reshape2", {"X": [piece]}, {"Out": [name], "XShape": [at.var("xshape", dtype)]}, {"shape": shape})
    stats = at.var("stats", dtype)
    at.op("concat", {"X": pieces[len(averaged):]}, {"Out": [stats]}, {"axis": 0})
    return stats


def broadcast_program(paddle, main):
    """A program that overwrites every persistable variable of `main` with rank 0's copy."""
    sync = paddle.static.Program()
    block = sync.global_block()
    for var in _persistable_tensors(main):
        block.create_var(name=var.name, shape=var.shape, dtype=var.dtype, persistable=True)
        block.append_op(type="broadcast", inputs={"x": [var.name]}, outputs={"out": [var.name]},
                        attrs={"ring_id": RING, "root": 0})
    return sync


def collective_program(paddle, kind, shape: tuple):
    """(program, fetch var): feed `values` (float64 `shape`), fetch its all_reduce (SUM/MAX) or broadcast."""
    program, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(program, startup):
        values = paddle.static.data("values", list(shape), "float64")
    block = program.global_block()
    out = block.create_var(name="collective_out", shape=list(shape), dtype="float64")
    if kind == "broadcast":
        block.append_op(type="broadcast", inputs={"x": [values]}, outputs={"out": [out]},
                        attrs={"ring_id": RING, "root": 0})
    else:
        block.append_op(type="all_reduce", inputs={"x": [values]}, outputs={"out": [out]},
                        attrs={"ring_id": RING, "reduce_type": kind})
    return program, out
