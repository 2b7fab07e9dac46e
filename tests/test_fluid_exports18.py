"""Exports cross both ways with the real Paddle 1.8.5: every format 1.8.5 writes loads here with the same
predictions (1e-5), and what legacy_mnist.fluid writes loads in 1.8.5.

Run:  LEGACY_MNIST_PADDLE18_PYTHON=/tmp/legacy_mnist_p18/bin/python python -m pytest -q tests/test_fluid_exports18.py
(skipped without it, failed under CI=true). 1.8.5 side: tests/old_paddle/cross_fluid18.py. Formats:
save_inference_model's `__model__` + one file per variable and model/params combined (through our loader,
`legacy_mnist.infer.load_model`, on both Paddle backends, and through the shim's load_inference_model),
save_params / save_persistables directories (into the same network built with the shim; persistables with
Adam's moments, which then step on as 1.8.5's would), save_dygraph's .pdparams and .pdopt.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import legacy_mnist.fluid as fluid
from legacy_mnist.infer import load_model

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "old_paddle" / "cross_fluid18.py"
sys.path.insert(0, str(REPO / "tests" / "fluid_scripts"))
from crossing_nets import NETS, book, course  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::legacy_mnist.fluid.FluidDeprecationWarning")


def _paddle18() -> str:
    python = os.environ.get("LEGACY_MNIST_PADDLE18_PYTHON", "")
    if not python:
        message = "LEGACY_MNIST_PADDLE18_PYTHON is not set: the crossings need the real Paddle 1.8.5"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def _run18(mode: str, root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLAGS_enable_pir_api")}
    env["GLOG_minloglevel"] = "3"
    done = subprocess.run([_paddle18(), str(SCRIPT), mode, str(root)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def written18(tmp_path_factory):
    root = tmp_path_factory.mktemp("written_by_18")
    _run18("write", root)
    return root, np.load(root / "predictions.npz")


@pytest.mark.parametrize("kind", NETS)
@pytest.mark.parametrize("layout", ["separate", "combined"])
def test_inference_models_of_18_load_in_our_loader_and_shim(written18, kind, layout):
    root, ref = written18
    directory = root / f"{kind}_{layout}"
    if layout == "separate":
        assert (directory / "__model__").is_file() and (directory / "fc_0.w_0").is_file()
    for backend in ("executor", "predictor"):
        model = load_model(directory, backend)  # vetted like every export: op allow-list, tensor headers
        np.testing.assert_allclose(model.predict(ref["images"]), ref[kind], atol=1e-5, err_msg=backend)
    exe = fluid.Executor(fluid.CPUPlace())
    names = ("model", "params") if layout == "combined" else (None, None)
    with fluid.scope_guard(fluid.core.Scope()):
        program, feeds, fetches = fluid.io.load_inference_model(str(directory), exe, *names)
        got = exe.run(program, feed={feeds[0]: ref["images"]}, fetch_list=fetches)[0]
    assert feeds == ["img"]
    np.testing.assert_allclose(got, ref[kind], atol=1e-5)


def _shim_book(kind, with_adam=False):
    img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
    label = fluid.layers.data(name="label", shape=[1], dtype="int64")
    prediction = book(fluid, kind, img)
    loss = fluid.layers.mean(fluid.layers.cross_entropy(input=prediction, label=label))
    test_program = fluid.default_main_program().clone(for_test=True)
    if with_adam:
        fluid.optimizer.Adam(learning_rate=0.001).minimize(loss)
    return prediction, test_program


@pytest.mark.parametrize("kind", NETS)
def test_save_params_and_save_persistables_of_18_load_into_the_shims_network(written18, kind):
    root, ref = written18
    labels = np.zeros((len(ref["images"]), 1), "int64")
    for saved, loader in (("params", fluid.io.load_params), ("persistables", fluid.io.load_persistables)):
        main, startup = fluid.Program(), fluid.Program()
        with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(fluid.core.Scope()):
            prediction, test_program = _shim_book(kind, with_adam=saved == "persistables")
            exe = fluid.Executor(fluid.CPUPlace())
            exe.run(startup)
            loader(exe, str(root / f"{kind}_{saved}"), main)
            got = exe.run(test_program, feed={"img": ref["images"], "label": labels}, fetch_list=[prediction])[0]
            np.testing.assert_allclose(got, ref[kind], atol=1e-5, err_msg=saved)
            if saved == "persistables":  # Adam's moments and beta powers came too: a step from them is finite
                exe.run(main, feed={"img": ref["images"], "label": labels})
                assert np.isfinite(fluid.global_scope().find_var("fc_0.w_0").get_tensor().__array__()).all()


def test_save_dygraph_of_18_loads_params_and_optimizer_state(written18):
    root, ref = written18
    with fluid.dygraph.guard():
        model = course(fluid)
        params, opt_state = fluid.load_dygraph(str(root / "course"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Paddle notes the 1.8 name map key it does not need
            model.set_dict(params)
        model.eval()
        got = model(fluid.dygraph.to_variable(ref["images"])).numpy()
        adam = fluid.optimizer.AdamOptimizer(learning_rate=0.001, parameter_list=model.parameters())
        adam.set_state_dict(opt_state)
    np.testing.assert_allclose(got, ref["course"], atol=1e-5)
    assert opt_state and any("moment1" in key for key in opt_state)


def test_our_exports_load_in_18(tmp_path):
    """Ours the other way: save_inference_model (model.pdmodel + .pdiparams), save_params and save_dygraph."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 1, 28, 28)).astype("float32")
    labels = rng.integers(0, 10, (8, 1)).astype("int64")
    np.savez(tmp_path / "input.npz", images=images)
    ours = {}
    exe = fluid.Executor(fluid.CPUPlace())
    for kind in NETS:
        main, startup = fluid.Program(), fluid.Program()
        with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(fluid.core.Scope()):
            prediction, test_program = _shim_book(kind, with_adam=True)
            exe.run(startup)
            for _ in range(3):
                exe.run(main, feed={"img": images, "label": labels})
            ours[kind] = exe.run(test_program, feed={"img": images, "label": labels}, fetch_list=[prediction])[0]
            fluid.io.save_inference_model(str(tmp_path / f"{kind}_export"), ["img"], [prediction], exe, main)
            fluid.io.save_params(exe, str(tmp_path / f"{kind}_params"), main)
    with fluid.dygraph.guard():
        model = course(fluid)
        model.eval()
        ours["course"] = model(fluid.dygraph.to_variable(images)).numpy()
        fluid.save_dygraph(model.state_dict(), str(tmp_path / "course"))
    _run18("read", tmp_path)
    theirs = np.load(tmp_path / "predictions18.npz")
    for kind in NETS:
        for form in ("export", "params"):
            np.testing.assert_allclose(theirs[f"{kind}_{form}"], ours[kind], atol=1e-5, err_msg=f"{kind} {form}")
    np.testing.assert_allclose(theirs["course"], ours["course"], atol=1e-5)
