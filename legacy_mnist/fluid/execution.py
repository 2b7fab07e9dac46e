"""How `fluid.Executor` runs a user's Program at our trainer's speed without touching the Program itself.

Not run directly; `fluid.Executor(place).run(program, ...)` uses it. Set LEGACY_MNIST_FLUID_AS_WRITTEN=1 to
run every Program exactly as built, with Paddle's default kernels and scheduling, and to build
`fluid.nets.simple_img_conv_pool` in fluid's op order (see nets.py), e.g. to rule all of this out.

What fluid 1.8 ran and what Paddle 3.3.1 runs for the same ops are the same functions, but 3.3.1's defaults
are slow on CPU: one math thread, ops handed to a worker pool, every intermediate tensor freed and
allocated again each step, im2col convolutions, a max-pool gradient that searches each window again. Our
trainer (legacy_mnist.training.program) measured each fix (docs/benchmarks.md); this module applies the
same ones to the programs a fluid script builds:

- once per process, when the first fluid.Executor is made: `training.program.configure_runtime` (every
  available core, ops in the calling thread, intermediates kept for the next step), each setting left
  alone where the environment sets it;
- per Program run: an *execution copy* (Program.clone(), cached until the Program changes, which Paddle's
  own executor cache detects the same way, by `desc.cached_hash_str()`) in which conv2d and conv2d_grad
  run on oneDNN (in training mode, so no weights are cached across runs: the optimizer updates them in
  place), and each max pool2d that has a pool2d_grad becomes max_pool2d_with_index, whose gradient
  scatters through the saved argmax. Both give the same outputs (the pools the same first maximum; the
  convolutions up to float rounding). The user's Program, what it prints, clones, saves and exports, is
  never changed; parameters live in the scope under their own names, so both see the same values.
"""
from __future__ import annotations

import os
import weakref

from ._compat import legacy_paddle

paddle = legacy_paddle()
AS_WRITTEN_ENV = "LEGACY_MNIST_FLUID_AS_WRITTEN"
_runtime_configured = False


def as_written() -> bool:
    return os.environ.get(AS_WRITTEN_ENV, "") not in ("", "0")


def configure_runtime_once() -> None:
    """Our trainer's process-wide CPU settings, the first time a fluid.Executor is made (not under as_written)."""
    global _runtime_configured
    if _runtime_configured or as_written():
        return
    _runtime_configured = True
    from ..training.program import configure_runtime

    # FLAGS_paddle_num_threads is how a fluid user chose the math threads: keep theirs.
    threads = os.environ.get("FLAGS_paddle_num_threads")
    configure_runtime(paddle, int(threads) if threads and threads.isdigit() and int(threads) > 0 else None)


def _onednn_conv(op) -> bool:
    return (op.type in ("conv2d", "conv2d_grad") and op.has_attr("data_format")
            and op.attr("data_format") in ("NCHW", "AnyLayout"))


def _indexable_pool(op) -> bool:
    """A plain max pool2d that max_pool2d_with_index computes the same way."""
    if op.type not in ("pool2d", "pool2d_grad") or op.attr("pooling_type") != "max":
        return False
    if op.attr("global_pooling") or op.attr("adaptive") or op.attr("data_format") not in ("NCHW", "AnyLayout"):
        return False
    paddings = list(op.attr("paddings"))
    return op.attr("padding_algorithm") == "EXPLICIT" and len(paddings) == 2


_POOL_ATTRS = ("ksize", "strides", "paddings", "ceil_mode")


def _pool_pairs(block):
    """(forward pool2d, its pool2d_grad) pairs that can both become the indexed forms."""
    forwards = {(op.input("X")[0], op.output("Out")[0]): op for op in block.ops
                if op.type == "pool2d" and _indexable_pool(op)}
    pairs = []
    for op in block.ops:
        if op.type != "pool2d_grad" or not _indexable_pool(op):
            continue
        forward = forwards.get((op.input("X")[0], op.input("Out")[0]))
        if forward is not None and all(op.attr(a) == forward.attr(a) for a in _POOL_ATTRS):
            pairs.append((forward, op))
    return pairs


def _needs_copy(program) -> bool:
    block = program.global_block()
    onednn = paddle.base.core.is_compiled_with_mkldnn() and any(_onednn_conv(op) for op in block.ops)
    return onednn or bool(_pool_pairs(block))


def _retype(desc, new_type: str, keep_attrs) -> None:
    """Turn a pool op desc into another op type that takes a subset of its attributes."""
    desc.set_type(new_type)
    for name in list(desc.attr_names()):
        if name not in keep_attrs and not name.startswith("op_") and name != "with_quant_attr":
            desc.remove_attr(name)
    desc._set_bool_attr("global_pooling", False)
    desc._set_bool_attr("adaptive", False)


def make_execution_copy(program):
    """`program` itself when nothing applies, else a clone with the faster kernels (see the module docstring)."""
    if not _needs_copy(program):
        return program
    copy = program.clone()
    block = copy.global_block()
    if paddle.base.core.is_compiled_with_mkldnn():
        for op in block.ops:
            if _onednn_conv(op):
                op._set_attr("use_mkldnn", True)
                if op.has_attr("is_test"):
                    op._set_attr("is_test", False)
    for forward, backward in _pool_pairs(block):
        out = forward.output("Out")[0]
        mask = block.create_var(name=paddle.utils.unique_name.generate(f"{out}.argmax"),
                                shape=block.var(out).shape, dtype="int32", stop_gradient=True)
        _retype(forward.desc, "max_pool2d_with_index", _POOL_ATTRS)
        forward.desc.set_output("Mask", [mask.name])
        _retype(backward.desc, "max_pool2d_with_index_grad", _POOL_ATTRS)
        backward.desc.remove_input("Out")
        backward.desc.set_input("Mask", [mask.name])
    block._sync_with_cpp()
    return copy


class ExecutionCopies:
    """Per executor: program -> its execution copy, rebuilt when the program changes (a new desc hash)."""

    def __init__(self):
        self._copies: dict[int, tuple] = {}  # id(program) -> (weakref, desc hash, copy)

    def for_program(self, program):
        if as_written() or not isinstance(program, paddle.static.Program):
            return program  # a CompiledProgram keeps its own build strategy
        key = program.desc.cached_hash_str()
        entry = self._copies.get(id(program))
        if entry is not None and entry[0]() is program and entry[1] == key:
            return entry[2]
        copy = make_execution_copy(program)
        self._copies[id(program)] = (weakref.ref(program, self._forget), key, copy)
        return copy

    def _forget(self, dead_ref) -> None:
        """A program was freed: drop its copy (a script that clones a Program per run must not pile them up)."""
        for program_id, entry in list(self._copies.items()):
            if entry[0] is dead_ref:
                del self._copies[program_id]
