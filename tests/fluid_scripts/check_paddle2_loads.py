"""Check the Paddle 2.x rows of docs/porting.md: which exports a Paddle 2.x loads, and the way back.

Run, in order (the second step needs a Paddle 2.x interpreter, e.g. a virtualenv with
`pip install paddlepaddle==2.6.2 "numpy<2"`):
    python tests/fluid_scripts/check_paddle2_loads.py make /tmp/p2check          # Paddle 3.3.1 (this repo)
    /tmp/venv-paddle26/bin/python tests/fluid_scripts/check_paddle2_loads.py check /tmp/p2check
    python tests/fluid_scripts/check_paddle2_loads.py back /tmp/p2check          # Paddle 3.3.1 again
Each step prints one line per claim. Not part of the test suite: it needs a second Paddle.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np

X = np.linspace(-1, 1, 2 * 784, dtype="float32").reshape(2, 1, 28, 28)


def make(root):
    """Paddle 3.3.1: a fluid-shim export (legacy IR, .pdmodel) and a PIR export (.json), with outputs."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    import legacy_mnist.fluid as fluid
    from legacy_mnist.paddle_env import ir_guard

    warnings.simplefilter("ignore", fluid.FluidDeprecationWarning)
    paddle = fluid.paddle
    with fluid.program_guard(fluid.Program(), fluid.Program()), fluid.scope_guard(fluid.core.Scope()):
        img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
        conv = fluid.nets.simple_img_conv_pool(input=img, num_filters=4, filter_size=5, pool_size=2,
                                               pool_stride=2, act="relu")
        prediction = fluid.layers.fc(input=fluid.layers.batch_norm(conv), size=10, act="softmax")
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(fluid.default_startup_program())
        expected = exe.run(fluid.default_main_program().clone(for_test=True), feed={"img": X},
                           fetch_list=[prediction])[0]
        fluid.io.save_inference_model(os.path.join(root, "fluid_shim"), ["img"], [prediction], exe)
    np.save(os.path.join(root, "fluid_shim", "expected.npy"), expected)

    with ir_guard("pir"):
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup), paddle.static.scope_guard(paddle.static.Scope()):
            img = paddle.static.data("img", [None, 1, 28, 28], "float32")
            prediction = paddle.static.nn.fc(paddle.flatten(img, 1), 10, activation="softmax")
            exe = paddle.static.Executor(paddle.CPUPlace())
            exe.run(startup)
            expected = exe.run(main, feed={"img": X}, fetch_list=[prediction])[0]
            paddle.static.save_inference_model(os.path.join(root, "pir", "model"), [img], [prediction], exe,
                                               program=main)
    np.save(os.path.join(root, "pir", "expected.npy"), expected)
    print(f"Paddle {paddle.__version__}: wrote {root}/fluid_shim (model.pdmodel) and {root}/pir (model.json)")


def _predictor(model_file, params_file):
    """Run in a child process: Paddle 2.x Inference crashes outright on some inputs."""
    import paddle.inference as inference

    config = inference.Config(model_file, params_file)
    config.disable_gpu()
    predictor = inference.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.copy_from_cpu(X)
    predictor.run()
    print(predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu().shape)


def check(root):
    """Paddle 2.x: load both exports with the static loader and with Paddle Inference; write a 2.x export."""
    import paddle

    paddle.enable_static()
    exe = paddle.static.Executor(paddle.CPUPlace())
    for name, model_file in (("fluid_shim", "model.pdmodel"), ("pir", "model.json")):
        prefix = os.path.join(root, name, "model")
        try:
            program, feeds, fetches = paddle.static.load_inference_model(prefix, exe)
            got = exe.run(program, feed={feeds[0]: X}, fetch_list=fetches)[0]
            expected = np.load(os.path.join(root, name, "expected.npy"))
            print(f"Paddle {paddle.__version__} static loader, {name}: OK, max diff {np.abs(got - expected).max():.3g}")
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            print(f"Paddle {paddle.__version__} static loader, {name}: {type(exc).__name__}: "
                  f"{str(exc).strip().splitlines()[0][:120]}")
        child = subprocess.run([sys.executable, __file__, "predictor", os.path.join(root, name, model_file),
                                prefix + ".pdiparams"], capture_output=True, text=True)
        print(f"Paddle {paddle.__version__} Inference predictor, {name}: exit {child.returncode}"
              + (" (OK)" if child.returncode == 0 else " (crashed)" if child.returncode < 0 or child.returncode > 128
                 else " (error)"))

    main, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main, startup):
        img = paddle.static.data("img", [None, 1, 28, 28], "float32")
        conv = paddle.static.nn.batch_norm(paddle.static.nn.conv2d(img, 4, 5, act="relu"))
        prediction = paddle.static.nn.fc(conv, 10, activation="softmax")
    exe.run(startup)
    paddle.static.save_inference_model(os.path.join(root, "paddle2", "model"), [img], [prediction], exe, program=main)
    np.save(os.path.join(root, "paddle2", "expected.npy"),
            exe.run(main.clone(for_test=True), feed={"img": X}, fetch_list=[prediction])[0])
    print(f"Paddle {paddle.__version__}: wrote {root}/paddle2 (model.pdmodel)")


def back(root):
    """Paddle 3.3.1: the fluid shim loads the Paddle 2.x export; Paddle's PIR-default loader does not."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    import legacy_mnist.fluid as fluid
    from legacy_mnist.paddle_env import ir_guard

    warnings.simplefilter("ignore", fluid.FluidDeprecationWarning)
    exe = fluid.Executor(fluid.CPUPlace())
    expected = np.load(os.path.join(root, "paddle2", "expected.npy"))
    with fluid.scope_guard(fluid.core.Scope()):
        program, feeds, fetches = fluid.io.load_inference_model(os.path.join(root, "paddle2"), exe)
        got = exe.run(program, feed={feeds[0]: X}, fetch_list=fetches)[0]
    print(f"Paddle {fluid.paddle.__version__} fluid.io.load_inference_model, paddle2: OK, "
          f"max diff {np.abs(got - expected).max():.3g}")
    try:
        with ir_guard("pir"):
            fluid.paddle.static.load_inference_model(os.path.join(root, "paddle2", "model"), exe)
        print("PIR loader, paddle2: OK")
    except Exception as exc:  # noqa: BLE001 - the failure is the finding
        print(f"PIR loader, paddle2: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:80]}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "predictor":
        _predictor(sys.argv[2], sys.argv[3])
    elif command in ("make", "check", "back") and len(sys.argv) == 3:
        {"make": make, "check": check, "back": back}[command](sys.argv[2])
    else:
        raise SystemExit(__doc__)
