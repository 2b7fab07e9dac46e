"""Unit tests of legacy_mnist.fluid: warnings once per name, clear errors for uncovered names, fluid's
signatures and semantics (layers, optimizers, io, DataFeeder, dygraph).

Run:  python -m pytest -q tests/test_fluid_shim.py
Every test builds in fresh Programs and a fresh Scope, so nothing leaks into the default ones.
"""
from __future__ import annotations

import contextlib
import inspect
import warnings

import numpy as np
import pytest

import legacy_mnist.fluid as fluid
from legacy_mnist.errors import ModelError, UserError, run_cli
from legacy_mnist.fluid import FluidArgumentError, FluidDeprecationWarning, NotCoveredError

paddle = fluid.paddle
quiet = pytest.mark.filterwarnings("ignore::legacy_mnist.fluid.FluidDeprecationWarning")


@contextlib.contextmanager
def fresh_programs():
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(fluid.core.Scope()):
        yield main, startup


def _fluid_warnings(records, name=None):
    found = [r for r in records if issubclass(r.category, FluidDeprecationWarning)]
    return [r for r in found if str(r.message).startswith(f"{name}:")] if name else found


# --- warnings: once per name per process, pointing at the caller ---------------------------------------

def test_each_name_warns_once_with_the_modern_spelling_at_the_callers_line():
    fluid.reset_warnings()
    with fresh_programs(), warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")  # Python's own once-per-location filter must not be what hides repeats
        x = fluid.data(name="x", shape=[None, 8], dtype="float32")
        hidden = fluid.layers.fc(input=x, size=4, act="relu")
        hidden = fluid.layers.fc(input=hidden, size=4)
        fluid.layers.fc(hidden, 2)
        fluid.layers.mean(hidden)
        fluid.layers.mean(x)
    fc_warnings = _fluid_warnings(records, "fluid.layers.fc")
    assert len(fc_warnings) == 1
    assert "paddle.static.nn.fc(" in str(fc_warnings[0].message) and "activation" in str(fc_warnings[0].message)
    assert fc_warnings[0].filename == __file__  # stacklevel reaches past the shim to the user's line
    assert len(_fluid_warnings(records, "fluid.layers.mean")) == 1
    assert len(_fluid_warnings(records)) == 2
    assert issubclass(FluidDeprecationWarning, FutureWarning)  # shown by default, unlike DeprecationWarning


def test_names_whose_modern_form_is_the_same_do_not_warn():
    fluid.reset_warnings()
    with fresh_programs(), warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        conv = fluid.layers.conv2d(img, 4, 5, act="relu")
        fluid.layers.batch_norm(conv)
        fluid.Executor(fluid.CPUPlace())
        fluid.ParamAttr(name="w")
    assert _fluid_warnings(records) == []


def test_old_optimizer_spellings_and_keywords_warn_once_each():
    fluid.reset_warnings()
    with fresh_programs(), warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for _ in range(2):
            fluid.optimizer.AdamOptimizer(learning_rate=0.01, regularization=fluid.regularizer.L2Decay(1e-4))
        fluid.optimizer.Adam(learning_rate=0.01)
    names = sorted(str(r.message).split(":")[0] for r in _fluid_warnings(records))
    assert names == ["fluid.optimizer regularization=", "fluid.optimizer.AdamOptimizer"]
    assert "weight_decay=" in str(_fluid_warnings(records, "fluid.optimizer regularization=")[0].message)


# --- uncovered names: a clear message naming the modern replacement ------------------------------------

@pytest.mark.parametrize("module, name, expected", [
    (fluid.layers, "lstm", "fluid.layers.lstm is not covered by legacy_mnist.fluid; use paddle.nn.LSTM"),
    (fluid, "ParallelExecutor", "fluid.ParallelExecutor is not covered by legacy_mnist.fluid; use "
                                "paddle.static.CompiledProgram"),
    (fluid.dygraph, "FC", "fluid.dygraph.FC is not covered by legacy_mnist.fluid; use fluid.dygraph.Linear"),
    (fluid.io, "save", "fluid.io.save is not covered by legacy_mnist.fluid; use paddle.static.save"),
    (fluid.optimizer, "RMSPropOptimizer", "use paddle.optimizer.RMSProp"),
    (fluid.core, "LoDTensor", "fluid.core.LoDTensor is not covered by legacy_mnist.fluid; use numpy arrays"),
    (fluid.nets, "sequence_conv_pool", "LoD sequences were removed"),
])
def test_uncovered_names_raise_an_attribute_error_naming_the_replacement(module, name, expected):
    with pytest.raises(NotCoveredError) as info:
        getattr(module, name)
    assert isinstance(info.value, AttributeError) and isinstance(info.value, UserError)
    assert expected in str(info.value)
    assert info.value.name == name


def test_unknown_names_point_to_the_porting_guide_and_keep_attribute_semantics():
    with pytest.raises(NotCoveredError, match=r"fluid\.layers\.no_such_layer is not covered .*docs/porting\.md"):
        fluid.layers.no_such_layer
    assert not hasattr(fluid.layers, "lstm")
    assert getattr(fluid, "ParallelExecutor", None) is None
    with pytest.raises(AttributeError) as info:  # tools probe dunders: those stay plain AttributeErrors
        fluid.__wrapped__
    assert not isinstance(info.value, NotCoveredError)


def test_uncovered_name_in_a_command_is_one_line_and_exit_2(capsys):
    def main(argv):
        fluid.layers.dynamic_lstm  # noqa: B018 - the access is the point
        return 0

    assert run_cli(main, []) == 2
    err = capsys.readouterr().err
    assert err == "error: fluid.layers.dynamic_lstm is not covered by legacy_mnist.fluid; use paddle.nn.LSTM\n"


# --- fluid's signatures and semantics -----------------------------------------------------------------

def _params(func):
    return list(inspect.signature(func).parameters)


def test_positional_signatures_match_fluid():
    assert _params(fluid.layers.data)[:4] == ["name", "shape", "append_batch_size", "dtype"]
    assert _params(fluid.data)[:3] == ["name", "shape", "dtype"]
    assert _params(fluid.layers.fc)[:6] == ["input", "size", "num_flatten_dims", "param_attr", "bias_attr", "act"]
    assert _params(fluid.layers.cross_entropy)[:2] == ["input", "label"]
    assert _params(fluid.layers.conv2d)[:5] == ["input", "num_filters", "filter_size", "stride", "padding"]
    assert _params(fluid.layers.pool2d)[:6] == [
        "input", "pool_size", "pool_type", "pool_stride", "pool_padding", "global_pooling"]
    assert _params(fluid.nets.simple_img_conv_pool)[:5] == [
        "input", "num_filters", "filter_size", "pool_size", "pool_stride"]
    assert _params(fluid.io.save_inference_model)[:7] == [
        "dirname", "feeded_var_names", "target_vars", "executor", "main_program", "model_filename",
        "params_filename"]
    assert _params(fluid.io.load_inference_model)[:4] == ["dirname", "executor", "model_filename", "params_filename"]
    assert _params(fluid.optimizer.Momentum.__init__)[1:3] == ["learning_rate", "momentum"]
    assert _params(fluid.DataFeeder.__init__)[1:4] == ["feed_list", "place", "program"]


@quiet
def test_layers_data_prepends_the_batch_dimension_like_fluid():
    with fresh_programs():
        assert tuple(fluid.layers.data("a", [1, 28, 28]).shape) == (-1, 1, 28, 28)
        assert tuple(fluid.layers.data("b", [1], dtype="int64").shape) == (-1, 1)
        assert tuple(fluid.layers.data("c", [3, 4], append_batch_size=False).shape) == (3, 4)
        assert tuple(fluid.layers.data("d", [None, 784]).shape) == (-1, 784)  # None turns the prepend off
        assert tuple(fluid.layers.data("e", [-1, 5]).shape) == (-1, 5)
        assert tuple(fluid.data("f", [None, 784]).shape) == (-1, 784)


@quiet
def test_layers_data_does_not_check_the_fed_shape_but_fluid_data_does():
    with fresh_programs() as (main, _):
        loose = fluid.layers.mean(fluid.layers.data("loose", [1, 28, 28]))
        strict = fluid.layers.mean(fluid.data("strict", [None, 1, 28, 28]))
        exe = fluid.Executor(fluid.CPUPlace())
        flat = np.ones((2, 784), "float32")
        assert float(exe.run(main, feed={"loose": flat}, fetch_list=[loose])[0]) == 1.0
        with pytest.raises(ValueError, match="should have dimensions = 4"):
            exe.run(main, feed={"strict": flat}, fetch_list=[strict])


@quiet
def test_layer_shapes_and_defaults_follow_fluid():
    with fresh_programs() as (main, startup):
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        conv = fluid.layers.conv2d(img, 4, 5, act="relu")
        outs = {
            "conv": conv,
            "pool_stride_default_1": fluid.layers.pool2d(conv, 2),  # fluid's pool_stride defaulted to 1
            "pool": fluid.layers.pool2d(conv, 2, "max", 2),
            "avg": fluid.layers.pool2d(input=conv, pool_size=2, pool_type="avg", pool_stride=2),
            "global": fluid.layers.pool2d(conv, pool_type="avg", global_pooling=True),
            "conv_pool": fluid.nets.simple_img_conv_pool(img, 6, 5, 2, 2, act="relu"),
            "fc_flatten2": fluid.layers.fc(input=conv, size=3, num_flatten_dims=2),
            "fc": fluid.layers.fc(input=conv, size=3, param_attr=fluid.ParamAttr(name="fc_w"), bias_attr=False),
        }
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        x = np.random.RandomState(0).uniform(-1, 1, (2, 1, 28, 28)).astype("float32")
        values = dict(zip(outs, exe.run(main, feed={"img": x}, fetch_list=list(outs.values()))))
        assert fluid.global_scope().find_var("fc_w") is not None
    assert values["conv"].shape == (2, 4, 24, 24)
    assert values["pool_stride_default_1"].shape == (2, 4, 23, 23)
    assert values["pool"].shape == (2, 4, 12, 12)
    assert values["global"].shape == (2, 4, 1, 1)
    assert values["conv_pool"].shape == (2, 6, 12, 12)
    assert values["fc_flatten2"].shape == (2, 4, 3)
    assert values["fc"].shape == (2, 3)
    np.testing.assert_allclose(values["pool"], values["conv"].reshape(2, 4, 12, 2, 12, 2).max(axis=(3, 5)), rtol=1e-6)
    np.testing.assert_allclose(values["avg"], values["conv"].reshape(2, 4, 12, 2, 12, 2).mean(axis=(3, 5)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values["global"][:, :, 0, 0], values["conv"].mean(axis=(2, 3)), rtol=1e-5)


@quiet
def test_cross_entropy_takes_probabilities_and_mean_accuracy_have_fluids_shape_1():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]], dtype="float32")
    labels = np.array([[0], [2], [0]], dtype="int64")
    with fresh_programs() as (main, _):
        p = fluid.data(name="p", shape=[None, 3], dtype="float32")
        y = fluid.data(name="y", shape=[None, 1], dtype="int64")
        loss = fluid.layers.cross_entropy(input=p, label=y)
        avg, acc = fluid.layers.mean(loss), fluid.layers.accuracy(input=p, label=y)
        loss_v, avg_v, acc_v = fluid.Executor(fluid.CPUPlace()).run(
            main, feed={"p": probs, "y": labels}, fetch_list=[loss, avg, acc])
    expected = -np.log(probs[np.arange(3), labels[:, 0]])
    np.testing.assert_allclose(loss_v[:, 0], expected, rtol=1e-5)  # no softmax applied: probabilities in
    assert loss_v.shape == (3, 1)
    # fluid's shape [1]; float() and "%f" still take them, as under the numpy fluid ran on
    assert avg_v.shape == (1,) and float(avg_v) == pytest.approx(expected.mean(), rel=1e-5)
    assert acc_v.shape == (1,) and float(acc_v) == pytest.approx(2 / 3)
    assert "%.4f" % acc_v == "0.6667" and avg_v[0] == pytest.approx(expected.mean(), rel=1e-5)


@quiet
def test_pool2d_rejects_what_fluid_rejected():
    with fresh_programs():
        x = fluid.data(name="x", shape=[None, 1, 8, 8], dtype="float32")
        with pytest.raises(FluidArgumentError, match="pool_type must be 'max' or 'avg'"):
            fluid.layers.pool2d(x, 2, "min")
        with pytest.raises(FluidArgumentError, match="pool_size must be set"):
            fluid.layers.pool2d(x)


def _one_sgd_step(optimizer_factory):
    """w (2 values) after one step on loss = 0 * sum(w): only the regularizer moves it."""
    with fresh_programs() as (main, startup):
        w = paddle.static.create_parameter([2], "float32", name="w",
                                           default_initializer=paddle.nn.initializer.Constant(2.0))
        loss = fluid.layers.mean(w * 0.0)
        optimizer_factory().minimize(loss)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        exe.run(main, fetch_list=[loss])
        return np.array(fluid.global_scope().find_var("w").get_tensor())


@quiet
def test_optimizers_take_fluids_keywords():
    # fluid: regularization=L2Decay(c) adds c * w to the gradient: w <- w - lr * c * w
    w = _one_sgd_step(lambda: fluid.optimizer.SGD(learning_rate=0.1, regularization=fluid.regularizer.L2Decay(0.5)))
    np.testing.assert_allclose(w, [2.0 - 0.1 * 0.5 * 2.0] * 2, rtol=1e-6)
    w = _one_sgd_step(lambda: fluid.optimizer.SGDOptimizer(
        0.1, regularization=fluid.regularizer.L2DecayRegularizer(regularization_coeff=0.25)))
    np.testing.assert_allclose(w, [2.0 - 0.1 * 0.25 * 2.0] * 2, rtol=1e-6)
    w = _one_sgd_step(lambda: fluid.optimizer.MomentumOptimizer(learning_rate=0.1, momentum=0.9))
    np.testing.assert_allclose(w, [2.0, 2.0])
    w = _one_sgd_step(lambda: fluid.optimizer.Adam(0.1, regularization=fluid.regularizer.L2Decay(0.5)))
    np.testing.assert_allclose(w, [2.0 - 0.1] * 2, rtol=1e-4)  # Adam's first step moves by ~lr
    assert isinstance(fluid.optimizer.AdamOptimizer(0.01), paddle.optimizer.Adam)
    with pytest.raises(FluidArgumentError, match="regularization= or weight_decay="):
        fluid.optimizer.SGD(0.1, regularization=fluid.regularizer.L2Decay(0.1), weight_decay=0.1)


@quiet
def test_save_and_load_inference_model_with_the_books_positional_signature(tmp_path):
    x_np = np.random.RandomState(1).uniform(-1, 1, (4, 6)).astype("float32")
    with fresh_programs() as (main, startup):
        x = fluid.layers.data(name="x", shape=[6])
        label = fluid.layers.data(name="label", shape=[1], dtype="int64")
        prediction = fluid.layers.fc(input=x, size=3, act="softmax")
        avg = fluid.layers.mean(fluid.layers.cross_entropy(input=prediction, label=label))
        fluid.optimizer.Adam(learning_rate=0.01).minimize(avg)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        expected = exe.run(main.clone(for_test=True), feed={"x": x_np, "label": np.zeros((4, 1), "int64")},
                           fetch_list=[prediction])[0]
        # dirname, feeded_var_names, target_vars, executor - and the two file names, positionally
        assert fluid.io.save_inference_model(str(tmp_path / "m"), ["x"], [prediction], exe) == [prediction.name]
        fluid.io.save_inference_model(str(tmp_path / "named"), ["x"], [prediction], exe, main, "__model__",
                                      "__params__")
        with pytest.raises(FluidArgumentError, match="feeded_var_names names 'nope'"):
            fluid.io.save_inference_model(str(tmp_path / "bad"), ["nope"], [prediction], exe)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.pdiparams", "model.pdmodel"]
    assert sorted(p.name for p in (tmp_path / "named").iterdir()) == ["__model__", "__params__"]

    for args in ([str(tmp_path / "m"), exe], [str(tmp_path / "named"), exe, "__model__", "__params__"]):
        with fluid.scope_guard(fluid.core.Scope()):
            loaded = fluid.io.load_inference_model(*args)
            program, feed_names, fetch_targets = loaded
            assert isinstance(loaded, list) and feed_names == ["x"]
            got = exe.run(program, feed={feed_names[0]: x_np}, fetch_list=fetch_targets)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    # Paddle's own loader reads the default layout as a file prefix.
    with fluid.scope_guard(fluid.core.Scope()):
        program, _, fetch_targets = paddle.static.load_inference_model(str(tmp_path / "m" / "model"), exe)
        np.testing.assert_allclose(exe.run(program, feed={"x": x_np}, fetch_list=fetch_targets)[0], expected,
                                   rtol=1e-5)


@quiet
def test_load_inference_model_reads_a_fluid1_directory_and_reports_missing_files(tmp_path):
    with fresh_programs() as (main, startup):
        x = fluid.data(name="x", shape=[None, 5], dtype="float32")
        y = fluid.layers.fc(input=x, size=2)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        # fluid 1.x's default layout: __model__ plus one file per parameter
        paddle.static.save_inference_model(str(tmp_path / "old" / "model"), [x], [y], exe, program=main,
                                           separate_parameters=True)
        expected = exe.run(main, feed={"x": np.ones((1, 5), "float32")}, fetch_list=[y])[0]
    assert "__model__" in {p.name for p in (tmp_path / "old").iterdir()}
    with fluid.scope_guard(fluid.core.Scope()):
        program, feeds, fetches = fluid.io.load_inference_model(str(tmp_path / "old"), exe)
        got = exe.run(program, feed={feeds[0]: np.ones((1, 5), "float32")}, fetch_list=fetches)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5)

    with pytest.raises(ModelError, match="is not a directory"):
        fluid.io.load_inference_model(str(tmp_path / "missing"), exe)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="model.pdmodel or __model__"):
        fluid.io.load_inference_model(str(tmp_path / "empty"), exe)
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "model.pdmodel").write_bytes(b"not a program")
    (tmp_path / "corrupt" / "model.pdiparams").write_bytes(b"")
    with pytest.raises(ModelError, match="cannot load"):
        fluid.io.load_inference_model(str(tmp_path / "corrupt"), exe)


@quiet
def test_data_feeder_takes_variables_or_names():
    with fresh_programs():
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        label = fluid.data(name="label", shape=[None, 1], dtype="int64")
        batch = [(np.full(784, i, "float32"), i) for i in range(3)]
        for feed_list in ([img, label], ["img", "label"]):
            feed = fluid.DataFeeder(feed_list=feed_list, place=fluid.CPUPlace()).feed(batch)
            assert np.array(feed["img"]).shape == (3, 1, 28, 28)
            np.testing.assert_array_equal(np.array(feed["label"]), [[0], [1], [2]])
        with pytest.raises(FluidArgumentError, match="feed_list names 'pixel'"):
            fluid.DataFeeder(feed_list=["pixel", label], place=fluid.CPUPlace())


def test_places_and_core():
    assert isinstance(fluid.CPUPlace(), paddle.CPUPlace)
    scope = fluid.core.Scope()
    assert scope.find_var("nothing") is None
    assert fluid.core.is_compiled_with_cuda() == paddle.is_compiled_with_cuda()
    if not fluid.core.is_compiled_with_cuda():
        with pytest.raises(FluidArgumentError, match="no CUDA support; use fluid.CPUPlace"):
            fluid.CUDAPlace(0)
    assert not paddle.in_dynamic_mode()
    assert not paddle.get_flags(["FLAGS_enable_pir_api"])["FLAGS_enable_pir_api"]  # legacy IR


# --- fluid.dygraph: the dygraph tutorial's names ------------------------------------------------------

@quiet
def test_dygraph_tutorial_names_train_and_restore_static_mode(tmp_path):
    from legacy_mnist.fluid.dygraph.nn import Conv2D, Linear, Pool2D

    rng = np.random.RandomState(0)
    images = rng.uniform(-1, 1, (16, 1, 28, 28)).astype("float32")
    labels = (np.arange(16) % 2).reshape(-1, 1).astype("int64")
    images[labels[:, 0] == 1, :, :14] += 1.0  # class 1: brighter top half - learnable in a few steps

    class MNIST(fluid.dygraph.Layer):
        def __init__(self):
            super().__init__()
            self.conv = Conv2D(num_channels=1, num_filters=4, filter_size=5, act="relu")
            self.pool = Pool2D(pool_size=2, pool_type="max", pool_stride=2)
            self.fc = Linear(4 * 12 * 12, 10, act="softmax")

        def forward(self, x):
            x = self.pool(self.conv(x))
            return self.fc(fluid.layers.reshape(x, shape=[-1, 4 * 12 * 12]))

    losses = []
    # Seeded: unseeded, the initial weights follow whatever the earlier tests drew, and about 1 start in 75
    # (4 of seeds 0-299) is still short of 16/16 after 8 steps - the flaky failure of the full suite.
    paddle.seed(0)
    with fluid.dygraph.guard():
        model = MNIST()
        adam = fluid.optimizer.AdamOptimizer(learning_rate=0.01, parameter_list=model.parameters())
        img, label = fluid.dygraph.to_variable(images), fluid.dygraph.to_variable(labels)
        for _ in range(8):
            prediction = model(img)
            avg_loss = fluid.layers.mean(fluid.layers.cross_entropy(prediction, label))
            acc = fluid.layers.accuracy(input=prediction, label=label)
            avg_loss.backward()
            adam.minimize(avg_loss)
            model.clear_gradients()
            losses.append(float(avg_loss))
        fluid.dygraph.save_dygraph(model.state_dict(), str(tmp_path / "mnist"))
        params, opt_state = fluid.dygraph.load_dygraph(str(tmp_path / "mnist"))
        fresh = MNIST()
        fresh.set_dict(params)
        np.testing.assert_allclose(fresh(img).numpy(), model(img).numpy(), rtol=1e-6)
        assert opt_state is None
        with pytest.raises(FluidArgumentError, match="static graph"):
            fluid.layers.fc(img, 2)
    assert not paddle.in_dynamic_mode()  # the guard hands static mode back
    assert losses[-1] < losses[0] * 0.5, losses
    assert float(acc) == 1.0
    assert (tmp_path / "mnist.pdparams").exists()
