"""Exports crossing with the real Paddle 1.8.5: write every format 1.8.5 writes, or read ours back.

Run (in the Paddle 1.8.5 environment):
    $LEGACY_MNIST_PADDLE18_PYTHON tests/old_paddle/cross_fluid18.py write OUT
    $LEGACY_MNIST_PADDLE18_PYTHON tests/old_paddle/cross_fluid18.py read IN
`write`: the book's three networks, trained 3 Adam steps (so batch-norm statistics and moments are not the
initial ones), each saved with save_inference_model (separate files and model/params combined),
save_params and save_persistables; the AI Studio course's dygraph network after 3 Adam steps, saved with
save_dygraph (.pdparams and .pdopt). OUT/predictions.npz holds the input batch and each one's predictions.
`read`: IN holds what legacy_mnist.fluid wrote (tests/test_fluid_exports18.py); each is loaded the 1.8.5 way
and its predictions on IN/input.npz are written to IN/predictions18.npz.
"""
import os
import sys

import numpy as np
import paddle.fluid as fluid

mode, root = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fluid_scripts"))
from crossing_nets import NETS, book as _book, course  # noqa: E402


def book(kind, img):
    return _book(fluid, kind, img)


def write():
    rng = np.random.RandomState(0)
    images = rng.uniform(-1, 1, (16, 1, 28, 28)).astype("float32")
    labels = rng.randint(0, 10, (16, 1)).astype("int64")
    out = {"images": images}
    exe = fluid.Executor(fluid.CPUPlace())
    for kind in NETS:
        main, startup = fluid.Program(), fluid.Program()
        scope = fluid.core.Scope()
        with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(scope):
            img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
            label = fluid.layers.data(name="label", shape=[1], dtype="int64")
            prediction = book(kind, img)
            loss = fluid.layers.mean(fluid.layers.cross_entropy(input=prediction, label=label))
            test_program = main.clone(for_test=True)
            fluid.optimizer.Adam(learning_rate=0.001).minimize(loss)
            exe.run(startup)
            for _ in range(3):
                exe.run(main, feed={"img": images, "label": labels})
            out[kind] = exe.run(test_program, feed={"img": images, "label": labels}, fetch_list=[prediction])[0]
            fluid.io.save_inference_model(f"{root}/{kind}_separate", ["img"], [prediction], exe, main)
            fluid.io.save_inference_model(f"{root}/{kind}_combined", ["img"], [prediction], exe, main,
                                          model_filename="model", params_filename="params")
            fluid.io.save_params(exe, f"{root}/{kind}_params", main)
            fluid.io.save_persistables(exe, f"{root}/{kind}_persistables", main)
    with fluid.dygraph.guard():
        model = course(fluid)
        adam = fluid.optimizer.AdamOptimizer(learning_rate=0.001, parameter_list=model.parameters())
        for _ in range(3):
            loss = fluid.layers.mean(fluid.layers.cross_entropy(model(fluid.dygraph.to_variable(images)),
                                                                fluid.dygraph.to_variable(labels)))
            loss.backward()
            adam.minimize(loss)
            model.clear_gradients()
        model.eval()
        out["course"] = model(fluid.dygraph.to_variable(images)).numpy()
        fluid.save_dygraph(model.state_dict(), f"{root}/course")
        fluid.save_dygraph(adam.state_dict(), f"{root}/course")
    np.savez(f"{root}/predictions.npz", **out)


def read():
    images = np.load(f"{root}/input.npz")["images"]
    exe = fluid.Executor(fluid.CPUPlace())
    out = {}
    for kind in NETS:
        with fluid.scope_guard(fluid.core.Scope()):
            program, feeds, fetches = fluid.io.load_inference_model(f"{root}/{kind}_export", exe,
                                                                    "model.pdmodel", "model.pdiparams")
            out[kind + "_export"] = exe.run(program, feed={feeds[0]: images}, fetch_list=fetches)[0]
        main, startup = fluid.Program(), fluid.Program()
        with fluid.program_guard(main, startup), fluid.unique_name.guard(), fluid.scope_guard(fluid.core.Scope()):
            img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
            prediction = book(kind, img)
            test_program = main.clone(for_test=True)
            exe.run(startup)
            fluid.io.load_params(exe, f"{root}/{kind}_params", main)
            out[kind + "_params"] = exe.run(test_program, feed={"img": images}, fetch_list=[prediction])[0]
    with fluid.dygraph.guard():
        model = course(fluid)
        params, _ = fluid.load_dygraph(f"{root}/course")
        model.set_dict(params)
        model.eval()
        out["course"] = model(fluid.dygraph.to_variable(images)).numpy()
    np.savez(f"{root}/predictions18.npz", **out)


write() if mode == "write" else read()
print("ok", sorted(os.listdir(root)))
