"""Export the book's networks and the AI Studio course's dygraph network with the real Paddle 1.8.5.

Run (in the Paddle 1.8.5 environment):  $LEGACY_MNIST_PADDLE18_PYTHON tests/old_paddle/export_fluid18.py OUT
tests/test_model_vetting.py checks that every program written here passes legacy_mnist.exported.model_vetting.
The networks are the book's `02.recognize_digits/train.py` ones (untrained: only the programs matter);
`fluid.io.save_inference_model` writes `__model__` + one file per variable, or `model` + `params`
combined; the course's network goes through `TracedLayer`, 1.8's dygraph export, which fixes the batch at 1.
"""
import sys

import numpy as np
import paddle.fluid as fluid
from paddle.fluid.dygraph.nn import Conv2D, Linear, Pool2D

out = sys.argv[1]


def book(kind, img):
    if kind == "softmax":
        return fluid.layers.fc(input=img, size=10, act="softmax")
    if kind == "mlp":
        hidden = fluid.layers.fc(input=img, size=200, act="tanh")
        hidden = fluid.layers.fc(input=hidden, size=200, act="tanh")
        return fluid.layers.fc(input=hidden, size=10, act="softmax")
    conv = fluid.nets.simple_img_conv_pool(input=img, filter_size=5, num_filters=20, pool_size=2, pool_stride=2,
                                           act="relu")
    conv = fluid.layers.batch_norm(conv)
    conv = fluid.nets.simple_img_conv_pool(input=conv, filter_size=5, num_filters=50, pool_size=2, pool_stride=2,
                                           act="relu")
    return fluid.layers.fc(input=conv, size=10, act="softmax")


for kind in ("softmax", "mlp", "cnn"):
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        img = fluid.layers.data(name="img", shape=[1, 28, 28], dtype="float32")
        prediction = book(kind, img)
        exe = fluid.Executor(fluid.CPUPlace())
        exe.run(startup)
        fluid.io.save_inference_model(f"{out}/book_{kind}", ["img"], [prediction], exe, main)
        fluid.io.save_inference_model(f"{out}/book_{kind}_combined", ["img"], [prediction], exe, main,
                                      model_filename="model", params_filename="params")


class MNIST(fluid.dygraph.Layer):  # the AI Studio course's network, as published
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(num_channels=1, num_filters=20, filter_size=5, stride=1, padding=2, act="relu")
        self.pool1 = Pool2D(pool_size=2, pool_stride=2, pool_type="max")
        self.conv2 = Conv2D(num_channels=20, num_filters=20, filter_size=5, stride=1, padding=2, act="relu")
        self.pool2 = Pool2D(pool_size=2, pool_stride=2, pool_type="max")
        self.fc = Linear(input_dim=980, output_dim=10, act="softmax")

    def forward(self, x):
        x = self.pool2(self.conv2(self.pool1(self.conv1(x))))
        x = fluid.layers.reshape(x, [x.shape[0], 980])
        return self.fc(x)


with fluid.dygraph.guard():
    net = MNIST()
    net.eval()
    _, traced = fluid.dygraph.TracedLayer.trace(net, inputs=[fluid.dygraph.to_variable(np.zeros((1, 1, 28, 28), np.float32))])
    traced.save_inference_model(f"{out}/aistudio_traced")
