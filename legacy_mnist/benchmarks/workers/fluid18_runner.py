"""Run a fluid-era script under the real Paddle 1.8.5 on arrays from our MNIST (1.8.5's downloader cannot).

Run by legacy_mnist/benchmarks/workers/porting.py, in the Paddle 1.8.5 environment (Python 3.8):
    $LEGACY_MNIST_PADDLE18_PYTHON legacy_mnist/benchmarks/workers/fluid18_runner.py DATA.npz SCRIPT [ARGS]
DATA.npz holds train_images/train_labels/test_images/test_labels (uint8 [N, 28, 28], labels);
`paddle.dataset.mnist.train()/test()` become readers over them that normalise as 1.8.5's own reader did
(x / 255 * 2 - 1, float32[784], int label). The script then runs as `__main__` from its own directory with
ARGS as its argv, unchanged otherwise. Imports nothing from legacy_mnist (a Python 3.8 process).
"""
import os
import runpy
import sys

import numpy as np
import paddle.dataset.mnist


def _creator(images, labels):
    def reader():
        flat = images.reshape(len(images), 28 * 28).astype("float32") / 255.0 * 2.0 - 1.0
        for i in range(len(flat)):
            yield flat[i, :], int(labels[i])

    return lambda: reader


def main():
    data_path, script = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    data = np.load(data_path)
    paddle.dataset.mnist.train = _creator(data["train_images"], data["train_labels"])
    paddle.dataset.mnist.test = _creator(data["test_images"], data["test_labels"])
    os.chdir(os.path.dirname(script))
    sys.path.insert(0, os.path.dirname(script))
    sys.argv = [script] + sys.argv[3:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
