"""The fluid 1.x API rows of issue 11, each the way fluid 1.8 (or 1.0 for the Trainer) behaved.

Run:  python -m pytest -q tests/test_fluid_api18.py
Covers: `fluid.layers` as a package (nn/tensor/control_flow/io/ops/device), our hint for `from
legacy_mnist.fluid.X.Y import Z` and for uncovered modules, PIL.Image.ANTIALIAS after `import
legacy_mnist.fluid`, save_inference_model(export_for_deployment=False), save/load params/persistables,
fluid.contrib.trainer/inferencer (and the fluid.trainer fallback), top-level save/load_dygraph,
DataLoader.from_generator in static (iterable and not) and dygraph mode, and fluid.dygraph.parallel in
one process.
"""
from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys

import numpy as np
import pytest

import legacy_mnist.fluid as fluid
from legacy_mnist.errors import UserError
from legacy_mnist.fluid import NotCoveredError, NotCoveredImportError

quiet = pytest.mark.filterwarnings("ignore::legacy_mnist.fluid.FluidDeprecationWarning")
pytestmark = quiet


@contextlib.contextmanager
def fresh():
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(fluid.core.Scope()):
        yield main, startup


def _mlp_feed(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, 1, 28, 28)).astype("float32"), rng.integers(0, 10, (n, 1)).astype("int64")


# --- layers as a package; hints under `from ... import` ----------------------------------------------------
def test_layers_is_a_package_with_fluid_18s_submodules():
    from legacy_mnist.fluid.layers.device import get_places
    from legacy_mnist.fluid.layers.io import data
    from legacy_mnist.fluid.layers.nn import fc
    from legacy_mnist.fluid.layers.tensor import fill_constant

    assert fluid.layers.fc is fc and fluid.layers.data is data and fluid.layers.fill_constant is fill_constant
    places = get_places(device_count=1, device_type="CPU")
    assert len(places) == 1 and isinstance(places[0], fluid.CPUPlace().__class__)
    for name in ("nn", "tensor", "control_flow", "io", "ops", "device"):
        assert importlib.import_module(f"legacy_mnist.fluid.layers.{name}").__name__.endswith(name)
    with fresh() as (main, _):
        x = fluid.layers.fill_constant(shape=[2, 3], dtype="float32", value=2.0)
        joined = fluid.layers.cast(fluid.layers.concat([x, fluid.layers.ones([1, 3], "float32")]), "int64")
        out = fluid.Executor(fluid.CPUPlace()).run(main, fetch_list=[joined])[0]
    np.testing.assert_array_equal(out, [[2, 2, 2], [2, 2, 2], [1, 1, 1]])  # fluid's concat axis=0 default


def test_from_import_of_an_uncovered_name_gives_our_hint_not_a_bare_import_error():
    with pytest.raises(NotCoveredImportError, match=r"fluid\.layers\.control_flow\.ParallelDo is not covered .*"
                                                    r"paddle\.static\.CompiledProgram"):
        from legacy_mnist.fluid.layers.control_flow import ParallelDo  # noqa: F401
    with pytest.raises(NotCoveredImportError, match=r"fluid\.layers\.nn\.lstm is not covered .*paddle\.nn\.LSTM"):
        from legacy_mnist.fluid.layers.nn import lstm  # noqa: F401
    with pytest.raises(ImportError) as info:
        from legacy_mnist.fluid.dygraph.nn import NoSuchLayer  # noqa: F401
    assert isinstance(info.value, UserError) and "docs/porting.md" in str(info.value)


def test_an_uncovered_fluid_module_gives_our_hint():
    with pytest.raises(ModuleNotFoundError, match=r"fluid\.transpiler is not covered .*paddle\.distributed\.fleet"):
        import legacy_mnist.fluid.transpiler  # noqa: F401
    with pytest.raises(ImportError, match=r"fluid\.contrib\.slim.* is not covered .*PaddleSlim"):
        from legacy_mnist.fluid.contrib.slim.quantization import QuantizationTransformPass  # noqa: F401
    with pytest.raises(ImportError, match=r"fluid\.layers\.detection is not covered .*paddle\.vision\.ops"):
        from legacy_mnist.fluid.layers import detection  # noqa: F401
    with pytest.raises(ModuleNotFoundError) as info:  # private probes keep Python's own error
        import legacy_mnist.fluid._no_such  # noqa: F401
    assert not isinstance(info.value, UserError)


def test_importing_fluid_restores_pil_antialias_with_one_warning():
    code = ("import warnings; warnings.simplefilter('always')\n"
            "import legacy_mnist.fluid\nfrom PIL import Image\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.simplefilter('always')\n"
            "    a = Image.ANTIALIAS; b = Image.ANTIALIAS\n"
            "print(a == Image.LANCZOS, len([w for w in seen if 'ANTIALIAS' in str(w.message)]),"
            " 'Image.LANCZOS' in str(seen[0].message))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "1", "True"]


# --- fluid.io ----------------------------------------------------------------------------------------------
def _tiny_net():
    img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
    label = fluid.layers.data(name="label", shape=[1], dtype="int64")
    prediction = fluid.layers.fc(input=fluid.layers.fc(input=img, size=16, act="tanh"), size=10, act="softmax")
    avg_loss = fluid.layers.mean(fluid.layers.cross_entropy(input=prediction, label=label))
    return img, label, prediction, avg_loss


def test_full_program_save_and_params_persistables_round_trip(tmp_path):
    images, labels = _mlp_feed()
    with fresh() as (main, startup):
        img, label, prediction, avg_loss = _tiny_net()
        fluid.optimizer.Adam(learning_rate=0.01).minimize(avg_loss)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        exe.run(main, feed={"img": images, "label": labels})
        names = fluid.io.save_inference_model(str(tmp_path / "full"), [], [], exe, export_for_deployment=False)
        fluid.io.save_params(exe, str(tmp_path / "params"), main)
        fluid.io.save_persistables(exe, str(tmp_path / "persist"), main, filename="all")
        before = exe.run(main.clone(for_test=True), feed={"img": images, "label": labels}, fetch_list=[prediction])[0]
        params = sorted(p.name for p in main.all_parameters())
    assert names == []
    full = tmp_path / "full"
    assert (full / "__model__.main_program").is_file() and {p.name for p in full.iterdir()} >= set(params)
    moments = [p.name for p in full.iterdir() if "moment" in p.name]
    assert moments  # persistables: Adam's state too, as fluid saved it
    assert sorted(p.name for p in (tmp_path / "params").iterdir()) == params  # parameters only
    assert [p.name for p in (tmp_path / "persist").iterdir()] == ["all"]
    for loader, directory, filename in ((fluid.io.load_params, "params", None),
                                        (fluid.io.load_persistables, "persist", "all")):
        with fresh() as (main, startup):
            _, _, prediction, avg_loss = _tiny_net()
            if directory == "persist":  # the combined file holds Adam's state: the program must have it too
                fluid.optimizer.Adam(learning_rate=0.01).minimize(avg_loss)
            exe = fluid.Executor(fluid.CPUPlace())
            exe.run(startup)
            loader(exe, str(tmp_path / directory), main, filename=filename)
            after = exe.run(main.clone(for_test=True), feed={"img": images, "label": labels},
                            fetch_list=[prediction])[0]
        np.testing.assert_allclose(after, before, rtol=1e-6)


def test_load_params_names_the_missing_variable(tmp_path):
    with fresh() as (main, startup):
        _tiny_net()
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        (tmp_path / "empty").mkdir()
        with pytest.raises(UserError, match=r"empty has no file for variable\(s\) fc_0\.w_0"):
            fluid.io.load_params(exe, str(tmp_path / "empty"), main)


# --- fluid 1.0's Trainer / Inferencer ------------------------------------------------------------------------
def test_contrib_trainer_and_inferencer_run_the_book_2018_flow(tmp_path):
    from legacy_mnist.fluid.contrib.inferencer import Inferencer
    from legacy_mnist.fluid.contrib.trainer import EndEpochEvent, EndStepEvent, Trainer
    from legacy_mnist.fluid.trainer import Trainer as FallbackTrainer

    assert FallbackTrainer is Trainer and fluid.Trainer is Trainer
    images, labels = _mlp_feed(64, seed=1)
    samples = [(images[i].reshape(-1), int(labels[i, 0])) for i in range(64)]

    def reader():
        for start in range(0, 64, 16):
            yield samples[start:start + 16]

    def train_program():
        _, label, prediction, avg_loss = _tiny_net()
        return [avg_loss, fluid.layers.accuracy(input=prediction, label=label)]

    def infer_program():
        img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
        return fluid.layers.fc(input=fluid.layers.fc(input=img, size=16, act="tanh"), size=10, act="softmax")

    events, tests = [], []
    trainer = Trainer(train_func=train_program, optimizer_func=lambda: fluid.optimizer.Adam(learning_rate=0.01),
                      place=fluid.CPUPlace())

    def handler(event):
        events.append(type(event).__name__)
        if isinstance(event, EndStepEvent):
            assert len(event.metrics) == 2 and event.metrics[0].shape == (1,)
            "%f" % event.metrics[0]  # the book printed it so
        if isinstance(event, EndEpochEvent):
            tests.append(trainer.test(reader=reader, feed_order=["img", "label"]))
            trainer.save_params(str(tmp_path / "params"))

    trainer.train(num_epochs=3, event_handler=handler, reader=reader, feed_order=["img", "label"])
    assert events[:3] == ["BeginEpochEvent", "BeginStepEvent", "EndStepEvent"] and events.count("EndStepEvent") == 12
    assert tests[-1][0] < tests[0][0]  # the test loss falls
    inferencer = Inferencer(infer_func=infer_program, param_path=str(tmp_path / "params"), place=fluid.CPUPlace())
    probs = inferencer.infer({"img": images[:4]})[0]
    with fluid.scope_guard(trainer.scope):
        expected = trainer._exe.run(trainer.test_program, feed={"img": images[:4], "label": labels[:4]},
                                    fetch_list=[trainer.test_program.global_block().var("fc_1.tmp_2")])[0]
    np.testing.assert_allclose(probs, expected, rtol=1e-5)
    with pytest.raises(UserError, match="optimizer should be an instance of Optimizer"):
        Trainer(train_func=train_program, optimizer_func=lambda: "adam")


# --- DataLoader.from_generator --------------------------------------------------------------------------------
def _samples(n=20):
    images, labels = _mlp_feed(n, seed=2)
    return [(images[i], labels[i]) for i in range(n)]


def test_dataloader_from_generator_static_iterable_and_not():
    samples = _samples()
    with fresh() as (main, startup):
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        label = fluid.data(name="label", shape=[None, 1], dtype="int64")
        total = fluid.layers.mean(img)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        loader = fluid.io.DataLoader.from_generator(feed_list=[img, label], capacity=4, iterable=True)
        loader.set_sample_generator(lambda: iter(samples), batch_size=8, drop_last=False, places=fluid.cpu_places(1))
        got = [exe.run(main, feed=data, fetch_list=[total])[0] for data in loader()]
        assert len(got) == 3  # 8 + 8 + 4
        np.testing.assert_allclose(float(got[2]), np.mean([s[0] for s in samples[16:]]), rtol=1e-5)
        with pytest.raises(UserError, match="places cannot be None"):
            loader.set_batch_generator(lambda: iter([]))
        batches = fluid.io.DataLoader.from_generator(feed_list=[img, label], capacity=4, iterable=False)
        batches.set_batch_generator(lambda: iter([(np.stack([s[0] for s in samples[:5]]),
                                                   np.stack([s[1] for s in samples[:5]]))] * 2))
        batches.start()
        seen = 0
        try:
            while True:
                exe.run(main, fetch_list=[total])
                seen += 1
        except fluid.core.EOFException:
            batches.reset()
        assert seen == 2


def test_dataloader_from_generator_in_dygraph_yields_tensors():
    samples = _samples(10)
    with fluid.dygraph.guard():
        loader = fluid.io.DataLoader.from_generator(capacity=2)
        loader.set_sample_list_generator(lambda: iter([samples[:6], samples[6:]]), places=fluid.CPUPlace())
        shapes = [(tuple(img.shape), tuple(label.shape)) for img, label in loader()]
    assert shapes == [((6, 1, 28, 28), (6, 1)), ((4, 1, 28, 28), (4, 1))]
    with pytest.raises(UserError, match="capacity"):
        fluid.io.DataLoader.from_generator()


def test_dygraph_parallel_in_one_process_is_the_plain_layer_and_save_dygraph_top_level(tmp_path, monkeypatch):
    from legacy_mnist.fluid.dygraph.nn import Linear

    monkeypatch.delenv("PADDLE_TRAINERS_NUM", raising=False)
    images, labels = _mlp_feed(8)
    with fluid.dygraph.guard():
        assert fluid.dygraph.parallel.Env().nranks == 1 and fluid.dygraph.parallel.Env().local_rank == 0
        strategy = fluid.dygraph.parallel.prepare_context()
        assert strategy is None  # fluid 1.8 returned None below two ranks
        model = fluid.dygraph.parallel.DataParallel(Linear(784, 10, act="softmax"), strategy)
        x = fluid.dygraph.to_variable(images.reshape(8, 784))
        loss = fluid.layers.mean(fluid.layers.cross_entropy(model(x), fluid.dygraph.to_variable(labels)))
        assert model.scale_loss(loss) is loss and tuple(loss.shape) == (1,) and isinstance(float(loss), float)
        loss.backward()
        model.apply_collective_grads()
        fluid.save_dygraph(model.state_dict(), str(tmp_path / "m"))
        params, opt = fluid.load_dygraph(str(tmp_path / "m"))
    assert opt is None and sorted(params) == ["bias", "weight"]


def test_our_loader_reads_the_fluid_1x_layout_and_names_a_missing_parameter_file(tmp_path):
    """`__model__` + one file per variable (what 1.8.5 writes; test_fluid_exports18.py uses 1.8.5's own files),
    made here from our export's program and save_params, so this runs without Python 3.8."""
    from legacy_mnist.infer import load_model

    images, labels = _mlp_feed()
    with fresh() as (main, startup):
        _, _, prediction, _ = _tiny_net()
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        fluid.io.save_inference_model(str(tmp_path / "ours"), ["img"], [prediction], exe, main)
        fluid.io.save_params(exe, str(tmp_path / "fluid1"), main)
    (tmp_path / "ours" / "model.pdmodel").rename(tmp_path / "fluid1" / "__model__")
    expected = load_model(_combined(tmp_path), "executor").predict(images)
    for backend in ("executor", "predictor"):
        got = load_model(tmp_path / "fluid1", backend).predict(images)
        np.testing.assert_allclose(got, expected, atol=1e-6)
    (tmp_path / "fluid1" / "fc_1.b_0").unlink()
    with pytest.raises(UserError, match=r"fluid1/fc_1\.b_0: missing \(the fluid 1\.x export's __model__ needs"):
        load_model(tmp_path / "fluid1", "executor")


def _combined(tmp_path):
    """The same export in our own layout, for the reference predictions."""
    ours = tmp_path / "ours"
    (ours / "model.pdmodel").write_bytes((tmp_path / "fluid1" / "__model__").read_bytes())
    return ours
