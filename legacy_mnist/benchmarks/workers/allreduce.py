"""The cost of the data-parallel step's communication, per rank, on gloo: run under paddle.distributed.launch.

Run by the scaling section:  python -m paddle.distributed.launch --nproc_per_node 2 legacy_mnist/benchmarks/workers/allreduce.py SPEC_JSON
Times (1) exactly the all_reduce ops the cnn's training step carries (`add_data_parallel_ops`: each gradient,
batch norm's two statistics, the [cost, acc, stop] triple), run as one program, and (2) one all_reduce of
float32 vectors from 1 KiB to 4 MiB, to fit latency + size / bandwidth. Rank 0 prints the result line.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[3])  # run as a file by launch, from the checkout

from legacy_mnist.benchmarks.workers.common import emit  # noqa: E402


def _timed(exe, program, feed, repeats: int) -> float:
    """Median seconds of one run of `program` (after warm-up runs)."""
    for _ in range(5):
        exe.run(program, feed=feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        exe.run(program, feed=feed)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _all_reduce_program(paddle, shapes: list[tuple]):
    import numpy as np

    from legacy_mnist.training.collective_ops import RING, SUM

    program, startup = paddle.static.Program(), paddle.static.Program()
    feed = {}
    with paddle.static.program_guard(program, startup):
        for index, shape in enumerate(shapes):
            var = paddle.static.data(f"t{index}", list(shape), "float32")
            program.global_block().append_op(type="all_reduce", inputs={"x": [var]}, outputs={"out": [var]},
                                             attrs={"ring_id": RING, "reduce_type": SUM})
            feed[var.name] = np.ones(shape, "float32")
    return program, feed


def measure(spec: dict) -> dict:
    from legacy_mnist.config import TrainConfig
    from legacy_mnist.training.collective_ops import batch_norm_statistics, gradient_names
    from legacy_mnist.training.distributed import Cluster, GlooDataParallel
    from legacy_mnist.paddle_env import import_paddle
    from legacy_mnist.training.program import build_programs

    paddle = import_paddle()
    paddle.base.core.set_num_threads(1)
    cluster = Cluster.from_env()
    GlooDataParallel(paddle, cluster)  # the same gloo context the training uses
    programs = build_programs(TrainConfig(model=spec.get("model", "cnn")))
    block = programs.main.global_block()
    names = gradient_names(programs.main) + batch_norm_statistics(programs.main)
    step_shapes = [tuple(block.var(name).shape) for name in names] + [(3,)]
    exe = paddle.static.Executor(paddle.CPUPlace())
    repeats = spec.get("repeats", 200)
    program, feed = _all_reduce_program(paddle, step_shapes)
    step = _timed(exe, program, feed, repeats)
    total = sum(int(__import__("math").prod(shape)) for shape in step_shapes)
    fused_program, fused_feed = _all_reduce_program(paddle, [(total,)])
    fused = _timed(exe, fused_program, fused_feed, repeats)
    sizes = [256, 4096, 65536, 262144, 1048576]  # float32 elements: 1 KiB .. 4 MiB
    sweep = {}
    for size in sizes:
        one, one_feed = _all_reduce_program(paddle, [(size,)])
        sweep[size * 4] = _timed(exe, one, one_feed, max(20, repeats // (1 + size // 65536)))
    result = {"world": cluster.world, "step_tensors": len(step_shapes), "step_floats": total,
              "step_allreduce_ms": step * 1000, "fused_allreduce_ms": fused * 1000,
              "sweep_ms": {str(k): v * 1000 for k, v in sweep.items()}}
    if cluster.rank == 0:
        emit(result)
    return result


if __name__ == "__main__":
    measure(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
