"""legacy_mnist.v2 held to paddle.v2's semantics: layers, summed-cost updates, model.tar, events, errors.

Run:  python -m pytest -q tests/test_v2_api.py      (about 15 s)
The v2 rules checked here are read from the v2 sources (paddle/v2/trainer.py, parameters.py, event.py;
trainer_config_helpers/layers.py, networks.py; proto/ParameterConfig.proto); the whole tutorial runs in
tests/test_v2_tutorial.py.
"""
from __future__ import annotations

import io
import re
import struct
import tarfile

import numpy as np
import pytest

import legacy_mnist.v2 as paddle
from legacy_mnist.v2 import param_file
from legacy_mnist.compat.not_covered import NotCoveredError


def _tutorial_cnn(img):
    conv_pool_1 = paddle.networks.simple_img_conv_pool(input=img, filter_size=5, num_filters=20, num_channel=1,
                                                       pool_size=2, pool_stride=2, act=paddle.activation.Relu())
    conv_pool_2 = paddle.networks.simple_img_conv_pool(input=conv_pool_1, filter_size=5, num_filters=50,
                                                       num_channel=20, pool_size=2, pool_stride=2,
                                                       act=paddle.activation.Relu())
    return conv_pool_1, conv_pool_2, paddle.layer.fc(input=conv_pool_2, size=10, act=paddle.activation.Softmax())


def test_dense_vector_784_is_read_as_a_28x28_image_and_names_are_v2s():
    img = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    pool_1, pool_2, predict = _tutorial_cnn(img)
    assert pool_1.num_filters == 20 and pool_1.image == (20, 12, 12) and pool_1.size == 20 * 12 * 12
    assert pool_2.image == (50, 4, 4) and predict.size == 10
    params = paddle.parameters.create(predict)
    names = params.names()
    assert [re.sub(r"_\d+__", "_N__", n) for n in names] == [  # v2's counters run on in this process
        "___conv_pool_N___conv.w0", "___conv_pool_N___conv.wbias", "___conv_pool_N___conv.w0",
        "___conv_pool_N___conv.wbias", "___fc_layer_N__.w0", "___fc_layer_N__.wbias"]
    # v2's shapes (ParameterConfig dims; none recorded for conv weights: (1, size)).
    assert [params.get_shape(n) for n in names] == [(1, 500), (20, 1), (1, 25000), (50, 1), (800, 10), (1, 10)]
    # v2's initial values: conv N(0, sqrt(2 / (5 * 5 * channels))), fc N(0, 1 / sqrt(800)), biases 0.
    assert params.get(names[0]).std() == pytest.approx((2 / 25) ** 0.5, rel=0.15)
    assert params.get(names[2]).std() == pytest.approx((2 / 500) ** 0.5, rel=0.05)
    assert params.get(names[4]).std() == pytest.approx(800 ** -0.5, rel=0.1)
    assert not params.get(names[1]).any() and not params.get(names[5]).any()


def test_v2_defaults_tanh_fc_relu_conv_ceil_pool_and_clear_geometry_errors():
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(25 * 25))
    assert isinstance(paddle.layer.fc(input=x, size=3).act, paddle.activation.Tanh)
    conv = paddle.layer.img_conv(input=x, filter_size=3, num_filters=4, num_channels=1, padding=1)
    assert isinstance(conv.act, paddle.activation.Relu) and conv.image == (4, 25, 25)
    assert paddle.layer.img_pool(input=conv, pool_size=2, stride=2).image == (4, 13, 13)  # ceil(23 / 2) + 1
    assert paddle.layer.img_pool(input=conv, pool_size=2, stride=2, ceil_mode=False).image == (4, 12, 12)
    assert isinstance(paddle.layer.batch_norm(input=conv).act, paddle.activation.Relu)
    odd = paddle.layer.data(name="odd", type=paddle.data_type.dense_vector(700))
    with pytest.raises(ValueError, match="has 700 values, not 1 square channel"):
        paddle.layer.img_conv(input=odd, filter_size=3, num_filters=2, num_channels=1)
    with pytest.raises(ValueError, match="give num_channels"):
        paddle.layer.img_conv(input=x, filter_size=3, num_filters=2)
    shaped = paddle.layer.data(name="rect", type=paddle.data_type.dense_vector(700), height=20, width=35)
    assert paddle.layer.img_conv(input=shaped, filter_size=5, num_filters=2).image == (2, 16, 31)


def _softmax_net(dim=4, classes=3):
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(dim))
    label = paddle.layer.data(name="y", type=paddle.data_type.integer_value(classes))
    out = paddle.layer.fc(input=x, size=classes, act=paddle.activation.Softmax())
    return x, label, out, paddle.layer.classification_cost(input=out, label=label)


def _numpy_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_update_is_momentum_on_the_cost_summed_over_the_batch():
    _, _, out, cost = _softmax_net()
    params = paddle.parameters.create(cost)
    w_name, b_name = params.names()
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(5, 4)).astype(np.float32)
    ys = np.array([0, 2, 1, 2, 0])
    lr, mu, l2 = 0.1, 0.9, 0.01
    trainer = paddle.trainer.SGD(cost=cost, parameters=params, update_equation=paddle.optimizer.Momentum(
        learning_rate=lr, momentum=mu, regularization=paddle.optimizer.L2Regularization(rate=l2)))
    w, b = params.get(w_name).astype(np.float64), params.get(b_name).astype(np.float64)
    events = []
    batch = [(x, int(y)) for x, y in zip(xs, ys)]
    trainer.train(reader=lambda: iter([batch, batch]), num_passes=1, event_handler=events.append)

    velocity_w, velocity_b, costs = 0.0, 0.0, []
    for _ in range(2):  # v2's sgdUpdate: v = mu * v - lr * (grad + l2 * w); w += v, grad of the SUM of costs
        p = _numpy_softmax(xs @ w + b)
        costs.append(-np.log(p[np.arange(5), ys]).mean())
        delta = p - np.eye(3)[ys]
        velocity_w = mu * velocity_w - lr * (xs.T @ delta + l2 * w)
        velocity_b = mu * velocity_b - lr * (delta.sum(axis=0, keepdims=True) + l2 * b)
        w, b = w + velocity_w, b + velocity_b
    np.testing.assert_allclose(params.get(w_name), w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(params.get(b_name), b, rtol=1e-4, atol=1e-5)
    iterations = [e for e in events if isinstance(e, paddle.event.EndIteration)]
    assert [e.batch_id for e in iterations] == [0, 1]
    assert [e.cost for e in iterations] == pytest.approx(costs, rel=1e-4)  # event.cost: the sum / batch size
    assert all(type(e.cost) is float for e in iterations)
    assert [type(e).__name__ for e in events] == ["BeginPass", "BeginIteration", "EndIteration", "BeginIteration",
                                                 "EndIteration", "EndPass"]


def test_metrics_are_error_rates_as_plain_floats_and_test_agrees_with_infer():
    x, label, out, cost = _softmax_net(dim=2, classes=2)
    params = paddle.parameters.create(cost)
    rng = np.random.default_rng(1)
    points = rng.normal(size=(64, 2)).astype(np.float32)
    samples = [(p, int(p[0] + p[1] > 0)) for p in points]
    trainer = paddle.trainer.SGD(cost=cost, parameters=params,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.05))
    passes = []
    trainer.train(reader=paddle.batch(lambda: iter(samples), 16), num_passes=3,
                  event_handler=lambda e: passes.append(e) if isinstance(e, paddle.event.EndPass) else None)
    assert list(passes[-1].metrics) == ["classification_error_evaluator"]
    result = trainer.test(reader=paddle.batch(lambda: iter(samples), 10))
    error = result.metrics["classification_error_evaluator"]
    assert type(error) is float and repr(result.metrics) == f"{{'classification_error_evaluator': {error!r}}}"
    probs = paddle.infer(output_layer=out, parameters=params, input=[(p,) for p, _ in samples])
    labels = np.array([y for _, y in samples])
    assert probs.shape == (64, 2)
    assert error == pytest.approx(np.mean(probs.argmax(axis=1) != labels))
    assert result.cost == pytest.approx(-np.log(probs[np.arange(64), labels]).mean(), rel=1e-4)
    assert error < 0.2  # a linearly separable problem after 12 Adam steps
    # feeding by dict and by list of names, as v2 took it; infer's input is a list of 1-tuples
    swapped = [(y, p) for p, y in samples]
    assert trainer.test(reader=paddle.batch(lambda: iter(swapped), 64), feeding={"x": 1, "y": 0}).metrics == \
        result.metrics
    assert trainer.test(reader=paddle.batch(lambda: iter(swapped), 64), feeding=["y", "x"]).cost == \
        pytest.approx(result.cost)


def test_to_tar_writes_v2s_format_on_a_text_mode_file_and_from_tar_reads_it_back(tmp_path):
    _, _, out, cost = _softmax_net()
    params = paddle.parameters.create(cost)
    w_name, b_name = params.names()
    path = tmp_path / "model.tar"
    with open(path, "w") as f:  # the Python 2 tutorial's text mode
        params.to_tar(f)
    with tarfile.open(path) as tar:
        assert tar.getnames() == [w_name, f"{w_name}.protobuf", b_name, f"{b_name}.protobuf"]
        raw = tar.extractfile(w_name).read()
        config = tar.extractfile(f"{b_name}.protobuf").read()
    assert struct.unpack("<IIQ", raw[:16]) == (0, 4, 12) and len(raw) == 16 + 4 * 12  # v2's header, 12 floats
    np.testing.assert_array_equal(np.frombuffer(raw[16:], "<f4").reshape(4, 3), params.get(w_name))
    assert param_file.decode_config(config, "b") == (b_name, 3, (1, 3))
    with open(path, "r") as f:  # and read back in text mode, as the tutorial's infer.py does
        loaded = paddle.parameters.Parameters.from_tar(f)
    assert loaded.names() == params.names() and loaded.get_shape(b_name) == (1, 3)
    np.testing.assert_array_equal(loaded.get(w_name), params.get(w_name))
    with pytest.raises(ValueError, match="shape mismatch"):
        loaded.set(w_name, np.zeros((3, 4), np.float32))
    # init_from_tar and set() reach a trainer's live values
    trainer = paddle.trainer.SGD(cost=cost, parameters=loaded, update_equation=paddle.optimizer.Momentum())
    loaded.set(b_name, np.full((1, 3), 0.5, np.float32))
    buffer = io.BytesIO()
    trainer.save_parameter_to_tar(buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(paddle.parameters.Parameters.from_tar(buffer).get(b_name), np.full((1, 3), 0.5))


def _tar_with(members: dict) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("members, message", [
    ({"w": struct.pack("<IIQ", 0, 4, 2) + b"\0" * 8, "w.protobuf": param_file.encode_config("w", 3, (3,))},
     "not 3 float32 values"),
    ({"w.protobuf": param_file.encode_config("w", 2, (2,))}, "has no parameter member 'w'"),
    ({"w": b"", "w.protobuf": param_file.encode_config("w", 6, (2, 2))}, "gives 6 values for dims"),
    ({"w": b"", "w.protobuf": b"\x0a\xff"}, "truncated or malformed"),
    ({"notes.txt": b"hello"}, "not a v2 parameter tar"),
])
def test_from_tar_refuses_a_broken_or_hostile_file_in_one_line(members, message):
    with pytest.raises(param_file.ModelFileError, match=message) as caught:
        paddle.parameters.Parameters.from_tar(_tar_with(members))
    assert "\n" not in str(caught.value)
    with pytest.raises(param_file.ModelFileError, match="not a v2 parameter tar"):
        paddle.parameters.Parameters.from_tar(io.BytesIO(b"plain bytes, not a tar archive" * 30))


def test_batch_norm_dropout_and_model_average_train_and_test_in_inference_mode():
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(16))
    label = paddle.layer.data(name="y", type=paddle.data_type.integer_value(2))
    hidden = paddle.layer.fc(input=x, size=8, act=paddle.activation.Linear(),
                             layer_attr=paddle.attr.Extra(drop_rate=0.5))
    normed = paddle.layer.batch_norm(input=hidden)
    out = paddle.layer.fc(input=paddle.layer.dropout(normed, 0.2), size=2, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    assert [params.get_shape(n) for n in params.names()[2:6]] == [(1, 8)] * 4  # scale, shift, mean, variance
    rng = np.random.default_rng(2)
    data = [(v, int(v[:8].sum() > v[8:].sum())) for v in rng.normal(size=(256, 16)).astype(np.float32)]
    optimizer = paddle.optimizer.Momentum(learning_rate=0.1 / 32, momentum=0.9,
                                          model_average=paddle.optimizer.ModelAverage(average_window=0.5))
    trainer = paddle.trainer.SGD(cost=cost, parameters=params, update_equation=optimizer)
    trainer.train(reader=paddle.batch(lambda: iter(data), 32), num_passes=6)
    mean_name = next(n for n in params.names() if n.endswith(".w1"))
    assert params.get(mean_name).any()  # the moving statistics were updated in training
    first, second = (trainer.test(reader=paddle.batch(lambda: iter(data), 64)) for _ in range(2))
    assert first.cost == second.cost  # no dropout noise and no statistics updates at test time
    assert first.metrics["classification_error_evaluator"] < 0.3
    live = params.get(params.names()[0])
    saved = io.BytesIO()
    trainer.save_parameter_to_tar(saved)
    saved.seek(0)
    averaged = paddle.parameters.Parameters.from_tar(saved).get(params.names()[0])
    assert not np.array_equal(averaged, live)  # ModelAverage: the tar holds the averaged parameters
    np.testing.assert_array_equal(params.get(params.names()[0]), live)  # ... and training resumes from live ones


def test_uncovered_names_and_bad_input_fail_in_one_line_naming_the_replacement():
    with pytest.raises(NotCoveredError, match=r"paddle\.v2\.layer\.lstmemory is not covered by legacy_mnist\.v2; "
                                              r"use paddle\.nn\.LSTM"):
        paddle.layer.lstmemory
    with pytest.raises(ImportError, match="not covered by legacy_mnist.v2; use paddle.nn.LSTM"):
        exec("from legacy_mnist.v2.layer import lstmemory")  # not Python's bare "cannot import name"
    assert not hasattr(paddle, "evaluator") and not hasattr(paddle.optimizer, "Lars")
    with pytest.raises(NotCoveredError, match="use paddle.distributed"):
        paddle.init(use_gpu=False, pservers="127.0.0.1")
    with pytest.raises(NotCoveredError, match="LoD sequences were removed"):
        paddle.data_type.integer_value_sequence(10)
    with pytest.raises(NotCoveredError, match="pickled topology runs code"):
        paddle.inference.Inference(paddle.parameters.Parameters(), fileobj=io.BytesIO(b"x"))
    _, _, out, cost = _softmax_net()
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=params, update_equation=paddle.optimizer.Momentum())
    with pytest.raises(ValueError, match=r"'x' is dense_vector\(4\) but a sample has 5 values"):
        trainer.train(reader=lambda: iter([[(np.zeros(5), 1)]]))
    with pytest.raises(ValueError, match=r"integer_value\(3\) but got 7"):
        trainer.train(reader=lambda: iter([[(np.zeros(4), 7)]]))
    with pytest.raises(TypeError, match="reader should be a function"):
        trainer.train(reader=[[(np.zeros(4), 1)]])
    with pytest.raises(ValueError, match="has no field 1"):
        paddle.infer(output_layer=cost, parameters=params, input=[(np.zeros(4),)])


def test_image_helpers_keep_v2s_layouts_and_ploter_is_the_projects(tmp_path):
    from PIL import Image

    from legacy_mnist.plot import Ploter

    assert paddle.plot.Ploter is Ploter  # paddle.v2.plot.Ploter through the same alias
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 200  # red in RGB
    Image.fromarray(rgb).save(tmp_path / "red.png")
    colour = paddle.image.load_image(str(tmp_path / "red.png"))
    assert colour.shape == (20, 30, 3) and colour[0, 0].tolist() == [0, 0, 200]  # cv2's BGR order, as v2 gave
    grey = paddle.image.load_image(str(tmp_path / "red.png"), is_color=False)
    assert grey.shape == (20, 30) and grey.dtype == np.uint8
    resized = paddle.image.resize_short(colour, 10)
    assert resized.shape == (10, 15, 3)
    chw = paddle.image.simple_transform(colour, 10, 8, is_train=False, mean=[1.0, 2.0, 3.0])
    assert chw.shape == (3, 8, 8) and chw.dtype == np.float32 and chw[2, 0, 0] == pytest.approx(197.0, abs=2)
