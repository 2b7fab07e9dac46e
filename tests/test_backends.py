"""Every backend answers as the Executor does; a missing optional runtime is one line naming its extra; bf16
(openvino, on request) stays within its bound.

Run:  python -m pytest -q tests/test_backends.py
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from legacy_mnist.inference import backends
from legacy_mnist.dataset import load_split
from legacy_mnist.errors import ModelError, UserError
from legacy_mnist.infer import load_model
from legacy_mnist.normalize import to_model_input
from test_reliability import command, one_error, run


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return to_model_input(load_split("test", log=lambda line: None).images[:500])


@pytest.mark.parametrize("name", ["cnn", "vgg"])
def test_every_backend_predicts_what_the_executor_does(name, images):
    reference = load_model(None, "executor", name=name).predict(images)
    for backend in ("predictor", "openvino"):
        model = load_model(None, backend, name=name)
        assert model.backend == backend and f"backend {backend};" in model.describe()
        batch = model.predict(images)
        one = np.concatenate([model.predict(images[i:i + 1]) for i in range(0, 500, 25)])
        assert np.abs(batch - reference).max() <= 1e-5, backend
        assert np.abs(one - reference[::25]).max() <= 1e-5, backend
        assert np.array_equal(batch.argmax(1), reference.argmax(1)), backend


def test_openvino_splits_batches_across_streams_and_answers_every_size(images):
    """Batches of 32 or more run as equal requests on one stream per core (the last padded): every size, and
    one thread (a single stream), answer as the Executor does, in order."""
    reference = load_model(None, "executor").predict(images[:299])
    for threads in (None, 1):
        model = load_model(None, "openvino", threads=threads)
        for size in (31, 33, 299):
            probs = model.predict(images[:size])
            assert probs.shape == (size, 10) and np.abs(probs - reference[:size]).max() <= 1e-5, (threads, size)
    streams = [key for key in model._compiled if key[1] > 1]
    assert streams == [] and load_model(None, "openvino", threads=2).predict(images[:299]).shape == (299, 10)


def test_missing_optional_runtime_is_one_line_naming_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(ModelError) as excinfo:
        load_model(None, "openvino")
    message = str(excinfo.value)
    assert "\n" not in message and "'openvino' extra" in message and 'pip install ".[openvino]"' in message
    assert not backends.installed("openvino") and backends.installed("predictor")
    assert backends.default_backend("onnx") == backends.default_backend("onnx", 1) == "onnx"
    assert backends.default_backend("legacy", 1) == backends.default_backend("legacy") == "predictor"


def test_default_backend_is_ranked_per_request_and_named():
    for images in (1, None):
        chosen = backends.default_backend("legacy", images)
        assert chosen == next(b for b in backends.DEFAULT_ORDER["one" if images == 1 else "batch"]
                              if b in backends.RUNS_FORMAT["legacy"] and backends.installed(b))
        assert load_model(None, images=images).backend == chosen
    if backends.installed("openvino"):  # measured the fastest for one image and for batches (docs/benchmarks.md)
        assert backends.default_backend("legacy", 1) == backends.default_backend("pir") == "openvino"


def _cpu_has_bf16() -> bool:
    return "BF16" in backends._openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.mark.parametrize("name", ["cnn", "vgg"])
def test_bf16_runs_on_openvino_when_asked_and_stays_within_its_bound(name, images):
    """precision bf16 really computes in bf16 (further than 1e-5 from f32, which every backend is held to)
    and stays within the ~3e-2 docs/deployment.md states, with the same digits; f32 stays the default."""
    reference = load_model(None, "executor", name=name).predict(images)
    if not _cpu_has_bf16():  # such a CPU gets the one-line refusal instead (also checked below, on any CPU)
        with pytest.raises(UserError, match="no bf16 instructions"):
            load_model(None, name=name, precision="bf16")
        return
    model = load_model(None, name=name, precision="bf16")
    assert (model.backend, model.precision) == ("openvino", "bf16") and "backend openvino, bf16;" in model.describe()
    assert model.winograd_convolutions == []  # bf16 keeps OpenVINO's direct convolutions (its own bf16 kernels)
    batch = model.predict(images)
    one = np.concatenate([model.predict(images[i:i + 1]) for i in range(0, 500, 25)])
    assert {str(c.get_property("INFERENCE_PRECISION_HINT")) for c in model._compiled.values()} == {"<Type: 'bfloat16'>"}
    for probs, want in ((batch, reference), (one, reference[::25])):
        assert 1e-5 < np.abs(probs - want).max() <= 5e-2
        assert (probs.argmax(1) == want.argmax(1)).mean() >= 0.99
    assert load_model(None, "openvino", name=name).precision == "f32"


class _CoreWithout:
    """OpenVINO's Core on a CPU without bf16 instructions (what OPTIMIZATION_CAPABILITIES says there)."""

    def __init__(self, core):
        self._core = core

    def get_property(self, device, name):
        if name == "OPTIMIZATION_CAPABILITIES":
            return ["FP32", "INT8", "BIN", "EXPORT_IMPORT"]
        return self._core.get_property(device, name)

    def __getattr__(self, name):
        return getattr(self._core, name)


def test_bf16_where_it_cannot_run_is_one_line(monkeypatch):
    core = backends._openvino_core()
    for asked, message in ((dict(backend="predictor"), "openvino backend only, not predictor"),
                           (dict(backend="executor"), "openvino backend only, not executor")):
        with pytest.raises(UserError, match=message):
            load_model(None, precision="bf16", **asked)
    with pytest.raises(UserError, match="unknown precision 'fp16'; choose one of f32, bf16"):
        load_model(None, precision="fp16")
    done = run(command("infer", "--demo", "--precision", "bf16", "--backend", "executor"))
    one_error(done, 2, "precision bf16 runs on the openvino backend only, not executor")
    monkeypatch.setattr(backends, "_openvino_core", lambda: _CoreWithout(core))
    with pytest.raises(UserError) as excinfo:
        load_model(None, precision="bf16")
    assert "\n" not in str(excinfo.value) and "this CPU has no bf16 instructions" in str(excinfo.value)
    assert load_model(None, "openvino").precision == "f32"  # f32 asks nothing of the CPU
