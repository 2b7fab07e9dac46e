"""Export the book's networks, the 2.x LeNet tutorials' and the AI Studio course's with the real Paddle 2.6.2.

Run (in the Paddle 2.6.2 environment):  $LEGACY_MNIST_PADDLE2_PYTHON tests/old_paddle/export_paddle26.py OUT
tests/test_model_vetting.py checks that every program written here passes legacy_mnist.exported.model_vetting and
loads. Untrained networks (only the programs matter): `paddle.static.save_inference_model` of the book's
three, `paddle.jit.save` of LeNet (relu, sigmoid, with batch norm and dropout) and of the course's network
in 2.x form (its `x.shape[0]` reshape), and the high-level API's `paddle.Model.save(training=False)`.
"""
import sys

import numpy  # noqa: F401 - imported before paddle: the other order crashes 2.6.2's jit.save in zlib here
import paddle
import paddle.nn.functional as F

out = sys.argv[1]
paddle.enable_static()


def book(kind, img):
    if kind == "softmax":
        return paddle.static.nn.fc(img, 10, activation='softmax')
    if kind == "mlp":
        h = paddle.static.nn.fc(img, 200, activation='tanh')
        h = paddle.static.nn.fc(h, 200, activation='tanh')
        return paddle.static.nn.fc(h, 10, activation='softmax')
    c = F.max_pool2d(paddle.static.nn.conv2d(img, 20, 5, act="relu"), 2, 2)
    c = paddle.static.nn.batch_norm(c)
    c = F.max_pool2d(paddle.static.nn.conv2d(c, 50, 5, act="relu"), 2, 2)
    return paddle.static.nn.fc(c, 10, activation='softmax')

for kind in ("softmax", "mlp", "cnn"):
    main, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main, startup), paddle.utils.unique_name.guard():
        img = paddle.static.data(name='img', shape=[None, 1, 28, 28], dtype='float32')
        pred = book(kind, img)
        exe = paddle.static.Executor(paddle.CPUPlace())
        exe.run(startup)
        paddle.static.save_inference_model(f"{out}/static_{kind}/model", [img], [pred], exe, program=main)
paddle.disable_static()


class LeNet(paddle.nn.Layer):
    def __init__(self, act="relu", dropout=False, bn=False):
        super().__init__()
        self.act, self.dropout = act, dropout
        self.conv1 = paddle.nn.Conv2D(1, 6, 5, stride=1, padding=2)
        self.bn = paddle.nn.BatchNorm2D(6) if bn else None
        self.max_pool1 = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
        self.conv2 = paddle.nn.Conv2D(6, 16, 5, stride=1)
        self.max_pool2 = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
        self.linear1 = paddle.nn.Linear(16 * 5 * 5, 120)
        self.linear2 = paddle.nn.Linear(120, 84)
        self.linear3 = paddle.nn.Linear(84, 10)
        self.drop = paddle.nn.Dropout(0.3)

    def forward(self, x):
        a = getattr(F, self.act)
        x = self.conv1(x)
        if self.bn is not None:
            x = self.bn(x)
        x = self.max_pool1(a(x))
        x = self.max_pool2(a(self.conv2(x)))
        x = paddle.flatten(x, start_axis=1, stop_axis=-1)
        x = a(self.linear1(x))
        if self.dropout:
            x = self.drop(x)
        x = a(self.linear2(x))
        return F.softmax(self.linear3(x))


spec = [paddle.static.InputSpec([None, 1, 28, 28], 'float32', 'img')]
for name, net in {"lenet": LeNet(), "lenet_sigmoid": LeNet("sigmoid"), "lenet_bn_dropout": LeNet(dropout=True, bn=True)}.items():
    net.eval()
    paddle.jit.save(net, f"{out}/jit_{name}/model", input_spec=spec)
model = paddle.Model(LeNet(), spec)
model.prepare()
model.save(f"{out}/hapi_lenet/model", training=False)


class MNIST(paddle.nn.Layer):  # the AI Studio course's network in 2.x form
    def __init__(self):
        super().__init__()
        self.conv1, self.pool1 = paddle.nn.Conv2D(1, 20, 5, 1, 2), paddle.nn.MaxPool2D(2, 2)
        self.conv2, self.pool2 = paddle.nn.Conv2D(20, 20, 5, 1, 2), paddle.nn.MaxPool2D(2, 2)
        self.fc = paddle.nn.Linear(980, 10)

    def forward(self, x):
        x = self.pool2(F.relu(self.conv2(self.pool1(F.relu(self.conv1(x))))))
        x = paddle.reshape(x, [x.shape[0], 980])
        return F.softmax(self.fc(x))


net = MNIST()
net.eval()
paddle.jit.save(net, f"{out}/jit_aistudio/model", input_spec=spec)
