"""The networks of the 1.8.5 crossing and differential tests, written once against the fluid API.

Not run directly; `book(fluid, kind, img)` and `course(fluid)` build them with whichever fluid is passed
(the real paddle.fluid 1.8.5 in tests/old_paddle/, legacy_mnist.fluid in tests/test_fluid_*18.py), so both
sides build the same network with the same parameter names. Python 3.8 compatible.
"""

NETS = ("softmax", "mlp", "cnn")


def book(fluid, kind, img):
    """The book's three networks (02.recognize_digits/train.py): the softmax prediction."""
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


def course(fluid):
    """The AI Studio course's dygraph network with a BatchNorm after the first conv (Linear/Conv2D/Pool2D/BN)."""
    from importlib import import_module

    nn = import_module(fluid.__name__ + ".dygraph.nn")

    class Course(fluid.dygraph.Layer):
        def __init__(self):
            super(Course, self).__init__()
            self.conv1 = nn.Conv2D(num_channels=1, num_filters=20, filter_size=5, stride=1, padding=2, act="relu")
            self.bn = nn.BatchNorm(20)
            self.pool1 = nn.Pool2D(pool_size=2, pool_stride=2, pool_type="max")
            self.conv2 = nn.Conv2D(num_channels=20, num_filters=20, filter_size=5, stride=1, padding=2, act="relu")
            self.pool2 = nn.Pool2D(pool_size=2, pool_stride=2, pool_type="max")
            self.fc = nn.Linear(input_dim=980, output_dim=10, act="softmax")

        def forward(self, x):
            x = self.pool2(self.conv2(self.pool1(self.bn(self.conv1(x)))))
            return self.fc(fluid.layers.reshape(x, [x.shape[0], 980]))

    return Course()
