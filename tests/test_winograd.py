"""The openvino backend's Winograd convolutions: exact transforms, a graph rewrite that answers as OpenVINO's
own convolution does on every shape it takes, and the shipped cnn's batches running through it.

Run:  python -m pytest -q tests/test_winograd.py
"""
from __future__ import annotations

import numpy as np
import openvino
import openvino.opset13 as ops
import pytest

from legacy_mnist.inference import backends, winograd
from legacy_mnist.dataset import load_split
from legacy_mnist.infer import load_model
from legacy_mnist.normalize import to_model_input

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return to_model_input(load_split("test", log=lambda line: None).images[:500])


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (4, 5), (6, 3), (2, 5)])
def test_matrices_compute_the_correlation(m, r):
    a_t, g, b_t = winograd.winograd_matrices(m, r)
    assert a_t.shape == (m, m + r - 1) and g.shape == (m + r - 1, r) and b_t.shape == (m + r - 1,) * 2
    for _ in range(20):
        d, w = RNG.normal(size=m + r - 1), RNG.normal(size=r)
        want = np.array([d[i:i + r] @ w for i in range(m)])
        assert np.abs(a_t @ ((g @ w) * (b_t @ d)) - want).max() < 1e-12
    assert np.allclose(b_t, np.round(b_t * 4) / 4)  # the scaling keeps B^T to quarters (exact in float32)


def test_tile_transform_is_b_t_on_every_tile_with_zeros_past_the_end():
    a_t, g, b_t = winograd.winograd_matrices(4, 5)
    signal = RNG.normal(size=14)  # 3 tiles of 8 starting at 0, 4, 8: the last runs 2 values past the end
    out = (winograd.tile_transform(b_t, 4, 3, 14) @ signal).reshape(8, 3)
    padded = np.concatenate([signal, np.zeros(2)])
    for t in range(3):
        assert np.allclose(out[:, t], b_t @ padded[4 * t:4 * t + 8])


def _graph(c_in, size, kernel=5, pads=(0, 0), strides=(1, 1), dilations=(1, 1), pool=None, c_out=6):
    """A one-convolution OpenVINO model (optionally a max pool after it) and its constant weights."""
    data = ops.parameter([-1, c_in, *size], openvino.Type.f32)
    weights = RNG.normal(size=(c_out, c_in, kernel, kernel)).astype(np.float32)
    node = ops.convolution(data, ops.constant(weights), list(strides), list(pads), list(pads), list(dilations))
    if pool is not None:
        node = ops.max_pool(node, list(pool[1]), [1, 1], [0, 0], [0, 0], list(pool[0]), "floor").output(0)
    return openvino.Model([ops.relu(node)], [data])


def _run(model, batch):
    compiled = openvino.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return compiled.create_infer_request().infer({0: batch})[0].copy()


@pytest.mark.parametrize("c_in, size, pads, pool", [
    (20, (12, 12), (0, 0), None),             # the shipped cnn's conv2: 2x2 whole tiles
    (20, (12, 12), (0, 0), ((2, 2), (2, 2))),  # ... with its pool taken inside the tiles
    (8, (13, 11), (0, 0), None),              # partial last tiles: outputs cut off
    (9, (10, 10), (2, 2), None),              # padding
    (8, (16, 16), (1, 1), ((2, 2), (2, 2))),  # pool, but 14x14 output: partial tiles, the pool stays separate
    (8, (12, 12), (0, 0), ((3, 3), (2, 2))),  # a pool the tiles cannot take (3x3 window)
])
def test_rewrite_answers_as_openvinos_convolution(c_in, size, pads, pool):
    model = _graph(c_in, size, pads=pads, pool=pool)
    rewritten, names = winograd.with_winograd_convolutions(model)
    kinds = [op.get_type_name() for op in rewritten.get_ordered_ops()]
    assert len(names) == 1 and "Convolution" not in kinds and "MatMul" in kinds
    fused = pool is not None and pool[0] == (2, 2) and (size[0] + 2 * pads[0] - 4) % 4 == 0
    assert ("MaxPool" in kinds) == (pool is not None and not fused)
    assert [op.get_type_name() for op in model.get_ordered_ops()].count("Convolution") == 1  # original kept
    batch = RNG.normal(size=(3, c_in, *size)).astype(np.float32)
    want = _run(model, batch)
    got = _run(rewritten, batch)
    assert got.shape == want.shape and np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())


@pytest.mark.parametrize("change", [dict(strides=(2, 2)), dict(dilations=(2, 2)), dict(kernel=3), dict(c_in=4)])
def test_convolutions_it_does_not_take_stay_as_they_are(change):
    settings = {"c_in": 16, "size": (12, 12), **change}
    model = _graph(**settings)
    rewritten, names = winograd.with_winograd_convolutions(model)
    assert names == [] and [op.get_type_name() for op in rewritten.get_ordered_ops()].count("Convolution") == 1


def _convolutions(model) -> int:
    return [op.get_type_name() for op in model.get_ordered_ops()].count("Convolution")


def test_shipped_cnn_batches_run_winograd_and_one_image_runs_direct(images):
    reference = load_model(None, "executor").predict(images)
    model = load_model(None, "openvino")
    assert model.winograd_convolutions == ["conv2d_1.tmp_0"]  # conv1 has 1 input channel: stays direct
    assert _convolutions(model._batch_model) == 1 and _convolutions(model._model) == 2
    for size in (1, 2, 33, 500):
        probs = model.predict(images[:size])
        assert np.abs(probs - reference[:size]).max() <= 1e-5, size
    assert {key[0] for key in model._compiled} >= {1, 2}
    vgg = load_model(None, "openvino", name="vgg")
    assert vgg.winograd_convolutions == [] and vgg._batch_model is vgg._model  # 3x3 kernels stay direct


def test_environment_switch_and_a_failing_rewrite_keep_the_direct_graph(monkeypatch, images):
    reference = load_model(None, "executor").predict(images[:64])
    monkeypatch.setenv(backends.WINOGRAD_ENV, "0")
    direct = load_model(None, "openvino")
    assert direct.winograd_convolutions == [] and direct._batch_model is direct._model
    assert np.abs(direct.predict(images[:64]) - reference).max() <= 1e-5
    monkeypatch.delenv(backends.WINOGRAD_ENV)

    def broken(model):
        raise RuntimeError("cannot rewrite")

    monkeypatch.setattr(winograd, "with_winograd_convolutions", broken)
    kept = load_model(None, "openvino")
    assert kept.winograd_convolutions == [] and np.abs(kept.predict(images[:64]) - reference).max() <= 1e-5
