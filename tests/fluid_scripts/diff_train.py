"""One training run of the differential harness, under the real fluid (Paddle 1.8.5) or legacy_mnist.fluid.

Run:  python tests/fluid_scripts/diff_train.py real|shim KIND DATA.npz OUT [--init DIR]
KIND: softmax / mlp / cnn (the book's networks, static, Adam 0.001) or dygraph_sgd / dygraph_adam (the
course's Linear/Conv2D/Pool2D/BatchNorm network, SGD 0.01 / Adam 0.001 with parameter_list). Without
--init the initial parameters are saved to OUT/init (save_params / save_dygraph); with it they are loaded
from there - so both sides start from the same weights. DATA.npz: images float32 [N, 1, 28, 28] and
labels int64 [N, 1], fed in order, 64 a batch; OUT/costs.npy gets each step's cost.
Python 3.8 compatible; tests/test_fluid_diff18.py runs it on both sides.
"""
import argparse
import os
import sys

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("side", choices=["real", "shim"])
parser.add_argument("kind", choices=["softmax", "mlp", "cnn", "dygraph_sgd", "dygraph_adam"])
parser.add_argument("data")
parser.add_argument("out")
parser.add_argument("--init", default=None)
args = parser.parse_args()

if args.side == "real":
    import paddle.fluid as fluid
else:
    import legacy_mnist.fluid as fluid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crossing_nets import book, course  # noqa: E402

BATCH = 64
data = np.load(args.data)
images, labels = data["images"], data["labels"]
batches = [(images[i:i + BATCH], labels[i:i + BATCH]) for i in range(0, len(images) - BATCH + 1, BATCH)]
init = args.init or os.path.join(args.out, "init")
costs = []

if args.kind.startswith("dygraph"):
    with fluid.dygraph.guard(fluid.CPUPlace()):
        model = course(fluid)
        if args.init:
            params, _ = fluid.load_dygraph(os.path.join(init, "model"))
            model.set_dict(params)
        else:
            os.makedirs(init)
            fluid.save_dygraph(model.state_dict(), os.path.join(init, "model"))
        if args.kind == "dygraph_sgd":
            optimizer = fluid.optimizer.SGDOptimizer(learning_rate=0.01, parameter_list=model.parameters())
        else:
            optimizer = fluid.optimizer.AdamOptimizer(learning_rate=0.001, parameter_list=model.parameters())
        model.train()
        for image, label in batches:
            loss = fluid.layers.mean(fluid.layers.cross_entropy(model(fluid.dygraph.to_variable(image)),
                                                                fluid.dygraph.to_variable(label)))
            loss.backward()
            optimizer.minimize(loss)
            model.clear_gradients()
            costs.append(float(loss.numpy().reshape(-1)[0]))
else:
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
        label = fluid.layers.data(name="label", shape=[1], dtype="int64")
        prediction = book(fluid, args.kind, img)
        avg_loss = fluid.layers.mean(fluid.layers.cross_entropy(input=prediction, label=label))
        fluid.optimizer.Adam(learning_rate=0.001).minimize(avg_loss)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        if args.init:
            fluid.io.load_params(exe, init, main)
        else:
            fluid.io.save_params(exe, init, main)
        for image, label_batch in batches:
            cost, = exe.run(main, feed={"img": image, "label": label_batch}, fetch_list=[avg_loss])
            costs.append(float(np.asarray(cost).reshape(-1)[0]))

np.save(os.path.join(args.out, "costs.npy"), np.array(costs, dtype="float64"))
print("steps", len(costs), "first", costs[0], "last", costs[-1])
