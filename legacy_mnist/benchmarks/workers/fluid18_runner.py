"""Run a fluid-era script under the real Paddle 1.8.5 on arrays from our MNIST (1.8.5's downloader cannot).

Run by legacy_mnist/benchmarks/workers/porting.py, in the Paddle 1.8.5 environment (Python 3.8):
    $LEGACY_MNIST_PADDLE18_PYTHON legacy_mnist/benchmarks/workers/fluid18_runner.py DATA_DIR SCRIPT [ARGS]
DATA_DIR holds train_images.u8, train_labels.u8, test_images.u8, test_labels.u8 (`write_data`: raw uint8,
images 28x28 each - raw bytes, so reading them can run nothing, unlike a pickle-capable loader);
`paddle.dataset.mnist.train()/test()` become readers over them that normalise as 1.8.5's own reader did
(x / 255 * 2 - 1, float32[784], int label). The script then runs as `__main__` from its own directory with
ARGS as its argv, unchanged otherwise. Imports nothing from legacy_mnist (a Python 3.8 process).
"""
import os
import runpy
import sys

import numpy as np


def _creator(images, labels):
    def reader():
        flat = images.reshape(len(images), 28 * 28).astype("float32") / 255.0 * 2.0 - 1.0
        for i in range(len(flat)):
            yield flat[i, :], int(labels[i])

    return lambda: reader


def write_data(directory, train_images, train_labels, test_images, test_labels):
    """Write the arrays `main` reads (called by the porting bench and the corpus test, in Python 3.11)."""
    os.makedirs(directory, exist_ok=True)
    for name, array in (("train_images", train_images), ("train_labels", train_labels),
                        ("test_images", test_images), ("test_labels", test_labels)):
        np.ascontiguousarray(array, dtype=np.uint8).tofile(os.path.join(directory, name + ".u8"))


def _read(directory, name, shape):
    return np.fromfile(os.path.join(directory, name + ".u8"), dtype=np.uint8).reshape(shape)


def main():
    import paddle.dataset.mnist  # Paddle 1.8.5's, patched below (this module is imported by Python 3.11 too)

    data_dir, script = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for split in ("train", "test"):
        images, labels = _read(data_dir, split + "_images", (-1, 28, 28)), _read(data_dir, split + "_labels", (-1,))
        setattr(paddle.dataset.mnist, split, _creator(images, labels))
    os.chdir(os.path.dirname(script))
    sys.path.insert(0, os.path.dirname(script))
    sys.argv = [script] + sys.argv[3:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
