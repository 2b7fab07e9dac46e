"""`paddle.dataset.mnist` of paddle.v2: the project's verified offline MNIST readers.

Not run directly; `paddle.batch(paddle.reader.shuffle(paddle.dataset.mnist.train(), buf_size=8192), 128)`.
The same samples as v2's module (pixels / 255 * 2 - 1, float32[784]; an int label), never downloaded.
"""
from ...dataset.mnist import fetch, reader_creator, test, train

__all__ = ["train", "test", "fetch", "reader_creator"]
