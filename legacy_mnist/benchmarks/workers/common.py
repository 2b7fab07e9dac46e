"""What every benchmark worker shares: the spec/result protocol, timing, peak memory and the data.

Not run directly; `legacy_mnist.benchmarks.workers.ours`, `legacy_mnist.benchmarks.workers.torch_peer` and `legacy_mnist.benchmarks.workers.ort_peer` import it. Nothing here imports
Paddle or PyTorch, so each worker pays only for the framework it measures.
"""
from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from typing import Callable

import numpy as np

RESULT_PREFIX = "BENCH_RESULT "


def parse_argv(argv: list[str]) -> tuple[str, dict]:
    """`KIND SPEC_JSON` -> (kind, spec)."""
    if len(argv) != 2:
        raise SystemExit("usage: python -m bench.<worker> KIND SPEC_JSON")
    return argv[0], json.loads(argv[1])


def emit(result: dict) -> None:
    """Print the one line the driver parses (peak RSS of this process added)."""
    result = dict(result, peak_rss_mb=peak_rss_mb())
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_val_test(val_size: int):
    """The pipeline's own split: (train_x, train_y), (val_x, val_y), (test_x, test_y), uint8 images."""
    from legacy_mnist.dataset import load_split, train_val_split

    quiet = lambda message: None  # noqa: E731 - the driver prints the data source once itself
    train = load_split("train", log=quiet)
    test = load_split("test", log=quiet)
    (tx, ty), (vx, vy) = train_val_split(train.images, train.labels, val_size)
    return (tx, ty), (vx, vy), (test.images, test.labels)


def test_inputs(count: int) -> np.ndarray:
    """The first `count` MNIST test images as model input (float32 [N, 1, 28, 28] in [-1, 1])."""
    from legacy_mnist.dataset import load_split
    from legacy_mnist.normalize import to_model_input

    test = load_split("test", log=lambda message: None)
    return to_model_input(test.images[:count])


def time_inference(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, spec: dict,
                   batch_predict: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    """Median single-image latency (ms) over `single_calls` images and batch throughput (img/s).

    Each single call gets a different image, as a server would. Warm-up calls are not timed. `batch_predict`
    (default: `predict`) answers the batches, for a caller that loads one model per kind of request.
    """
    single_calls, batch, batch_calls = spec["single_calls"], spec["batch"], spec["batch_calls"]
    batch_predict = batch_predict or predict
    for i in range(spec.get("warmup", 20)):
        predict(images[i % len(images)][None])
    batch_predict(images[:batch])
    latencies = []
    for i in range(single_calls):
        one = images[i % len(images)][None]
        start = time.perf_counter()
        predict(one)
        latencies.append(time.perf_counter() - start)
    batch_times = []
    for _ in range(batch_calls):
        start = time.perf_counter()
        probs = batch_predict(images[:batch])
        batch_times.append(time.perf_counter() - start)
    return {
        "latency_ms": statistics.median(latencies) * 1000.0,
        "throughput": batch / statistics.median(batch_times),
        "digits": np.asarray(probs).argmax(axis=1)[:batch].tolist(),
    }


def main_guard(run: Callable[[str, dict], dict]) -> None:
    """Worker entry point: run the measurement, print the result line (errors go to stderr, exit 1)."""
    kind, spec = parse_argv(sys.argv[1:])
    emit(run(kind, spec))
