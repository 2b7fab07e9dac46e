"""The ONNX Runtime peer: a plain `InferenceSession` on the ONNX file converted from our export.

Run by the driver:  python -m legacy_mnist.benchmarks.workers.ort_peer infer SPEC_JSON
No wrapper around `session.run`, so this is the runtime's own cost. ONNX Runtime at its best settings for a
small convnet on N threads: intra_op_num_threads = the bench's --threads, graph optimisation level ORT_ENABLE_ALL,
sequential execution (the model has no parallel branches for the parallel executor).
"""
from __future__ import annotations

from legacy_mnist.benchmarks.workers.common import main_guard, test_inputs, time_inference


def inference(spec: dict) -> dict:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = spec["threads"]
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    session = onnxruntime.InferenceSession(spec["onnx"], options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return time_inference(lambda batch: session.run(None, {name: batch})[0], test_inputs(spec["batch"]), spec)


WORKERS = {"infer": inference}

if __name__ == "__main__":
    main_guard(lambda kind, spec: WORKERS[kind](spec))
