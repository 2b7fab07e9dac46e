"""Run a fluid-era script under the real Paddle 1.8.5 on the arrays our tests use (no download).

Run (in the Paddle 1.8.5 environment):  $LEGACY_MNIST_PADDLE18_PYTHON tests/old_paddle/run_fluid18.py DATA.npz SCRIPT [ARGS]
DATA.npz holds train_images/train_labels/test_images/test_labels (uint8 [N, 28, 28], labels); 1.8.5's
`paddle.dataset.mnist.train()/test()` are replaced by readers over them that normalise exactly as 1.8.5's
own reader did (x / 255 * 2 - 1, float32[784], int label). The script runs as `__main__` from its own
directory with ARGS as its argv, unchanged otherwise (tests/test_fluid_corpus.py compares its output and
accuracy with the same script through legacy_mnist.fluid).
"""
import os
import runpy
import sys

import numpy as np
import paddle.dataset.mnist

data_path, script = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
data = np.load(data_path)


def _creator(images, labels):
    def reader():
        flat = images.reshape(len(images), 28 * 28).astype("float32") / 255.0 * 2.0 - 1.0
        for i in range(len(flat)):
            yield flat[i, :], int(labels[i])

    return lambda: reader


paddle.dataset.mnist.train = _creator(data["train_images"], data["train_labels"])
paddle.dataset.mnist.test = _creator(data["test_images"], data["test_labels"])
os.chdir(os.path.dirname(script))
sys.path.insert(0, os.path.dirname(script))
sys.argv = [script] + sys.argv[3:]
runpy.run_path(script, run_name="__main__")
