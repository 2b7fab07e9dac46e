"""Benchmark workers: one short-lived process per measurement, started by `python -m legacy_mnist.bench`.

Each module is run as `python -m legacy_mnist.benchmarks.workers.<module> KIND SPEC_JSON` and prints one
`BENCH_RESULT {...}` line: `ours` (our pipeline), `torch_peer` (PyTorch eager), `ort_peer` (ONNX Runtime).
"""
