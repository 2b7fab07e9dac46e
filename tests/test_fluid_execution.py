"""The fluid shim's fast path (legacy_mnist/fluid/execution.py and the conv-pool order of fluid.nets) computes
what the book's program computes, leaves the user's Program as built, and follows changes to it.

Run:  python -m pytest -q tests/test_fluid_execution.py
Each test builds the book's cnn (simple_img_conv_pool x2 with batch norm, Adam) in fresh Programs and Scope;
"as written" is LEGACY_MNIST_FLUID_AS_WRITTEN=1: fluid's op order and Paddle's default kernels.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import legacy_mnist.fluid as fluid
from legacy_mnist.fluid.execution import AS_WRITTEN_ENV

paddle = fluid.paddle
pytestmark = pytest.mark.filterwarnings("ignore::legacy_mnist.fluid.FluidDeprecationWarning")


@contextlib.contextmanager
def book_cnn(optimize=True):
    main, startup = fluid.Program(), fluid.Program()
    main.random_seed = startup.random_seed = 90
    with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(fluid.core.Scope()):
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        label = fluid.data(name="label", shape=[None, 1], dtype="int64")
        conv = fluid.nets.simple_img_conv_pool(input=img, filter_size=5, num_filters=20, pool_size=2,
                                               pool_stride=2, act="relu")
        conv = fluid.layers.batch_norm(conv)
        conv = fluid.nets.simple_img_conv_pool(input=conv, filter_size=5, num_filters=50, pool_size=2,
                                               pool_stride=2, act="relu")
        prediction = fluid.layers.fc(input=conv, size=10, act="softmax")
        avg_loss = fluid.layers.mean(fluid.layers.cross_entropy(input=prediction, label=label))
        test = main.clone(for_test=True)
        if optimize:
            fluid.optimizer.Adam(learning_rate=0.001).minimize(avg_loss)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        yield dict(main=main, test=test, exe=exe, img=img, label=label, conv=conv, loss=avg_loss)


def batches(count, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, (size, 1, 28, 28)).astype("float32"),
             rng.integers(0, 10, (size, 1)).astype("int64")) for _ in range(count)]


def _params(net):
    scope = fluid.global_scope()
    return {p.name: np.array(scope.find_var(p.name).get_tensor()) for p in net["main"].all_parameters()}


def _set_params(params):
    scope = fluid.global_scope()
    for name, value in params.items():
        scope.find_var(name).get_tensor().set(value, fluid.CPUPlace())


def _train(net, data, params=None):
    if params is not None:
        _set_params(params)
    return [float(net["exe"].run(net["main"], feed={"img": x, "label": y}, fetch_list=[net["loss"]])[0])
            for x, y in data]


def test_the_fast_path_trains_like_the_program_as_written(monkeypatch):
    """Same parameters, same batches: per-step costs agree (oneDNN convolutions differ only in rounding)."""
    data = batches(6)
    with book_cnn() as fast:
        start = _params(fast)
        fast_costs = _train(fast, data)
        fast_test = fast["exe"].run(fast["test"], feed={"img": data[0][0], "label": data[0][1]},
                                    fetch_list=[fast["conv"].name])[0]
    monkeypatch.setenv(AS_WRITTEN_ENV, "1")
    with book_cnn() as plain:
        assert sorted(_params(plain)) == sorted(start)  # the same parameters under the same names
        plain_costs = _train(plain, data, start)
        plain_test = plain["exe"].run(plain["test"], feed={"img": data[0][0], "label": data[0][1]},
                                      fetch_list=[plain["conv"].name])[0]
    np.testing.assert_allclose(fast_costs, plain_costs, rtol=1e-4)
    assert fast_costs[-1] < fast_costs[0]
    # the test program after training: the block's output (the one the user holds) agrees too
    np.testing.assert_allclose(fast_test, plain_test, rtol=1e-3, atol=1e-4)


def test_conv_pool_reorders_only_what_commutes_with_max(monkeypatch):
    with book_cnn(optimize=False) as net:
        types = [op.type for op in net["main"].global_block().ops]
    assert types[:4] == ["conv2d", "pool2d", "elementwise_add", "relu"]  # bias and relu after the pool
    monkeypatch.setenv(AS_WRITTEN_ENV, "1")
    with book_cnn(optimize=False) as net:
        assert [op.type for op in net["main"].global_block().ops][:4] == ["conv2d", "elementwise_add", "relu",
                                                                         "pool2d"]
    monkeypatch.delenv(AS_WRITTEN_ENV)
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        fluid.nets.simple_img_conv_pool(input=img, filter_size=5, num_filters=4, pool_size=2, pool_stride=2,
                                        act="softplus")  # not monotonic-commuting in our list: fluid's order
        fluid.nets.simple_img_conv_pool(input=img, filter_size=5, num_filters=4, pool_size=2, pool_stride=2,
                                        pool_type="avg", act="relu")  # an average does not commute with relu
    assert [op.type for op in main.global_block().ops] == ["conv2d", "elementwise_add", "softplus", "pool2d",
                                                            "conv2d", "elementwise_add", "relu", "pool2d"]


def test_the_users_program_is_left_as_built_and_changes_reach_the_run():
    data = batches(2)
    with book_cnn() as net:
        main = net["main"]
        before = main.desc.serialize_to_string()
        _train(net, data)
        assert main.desc.serialize_to_string() == before  # printed, cloned, saved and exported as built
        assert "max_pool2d_with_index" not in [op.type for op in main.global_block().ops]
        copy = net["exe"]._execution_copies.for_program(main)
        assert copy is not main
        types = [op.type for op in copy.global_block().ops]
        assert types.count("max_pool2d_with_index") == 2 and types.count("max_pool2d_with_index_grad") == 2
        assert "pool2d_grad" not in types
        if paddle.base.core.is_compiled_with_mkldnn():
            assert all(op.attr("use_mkldnn") for op in copy.global_block().ops if op.type.startswith("conv2d"))
        # the test program has no pool gradient: its pools stay pool2d
        test_copy = net["exe"]._execution_copies.for_program(net["test"])
        assert "max_pool2d_with_index" not in [op.type for op in test_copy.global_block().ops]
        # a change to the program after runs (here: one more fetchable op) is in the next run
        with fluid.program_guard(main):
            doubled = net["loss"] * 2.0
        cost, twice = net["exe"].run(main, feed={"img": data[0][0], "label": data[0][1]},
                                     fetch_list=[net["loss"], doubled])
        assert float(twice) == pytest.approx(2 * float(cost))
        assert net["exe"]._execution_copies.for_program(main) is not copy


def test_a_freed_program_takes_its_execution_copy_with_it():
    import gc

    data = batches(1)
    with book_cnn() as net:
        for _ in range(3):  # a script that clones its test program on every evaluation
            net["exe"].run(net["main"].clone(for_test=True), feed={"img": data[0][0], "label": data[0][1]},
                           fetch_list=[net["loss"]])
        gc.collect()
        assert len(net["exe"]._execution_copies._copies) == 1  # only the startup program's entry is alive
