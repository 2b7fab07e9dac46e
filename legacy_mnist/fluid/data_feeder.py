"""`fluid.DataFeeder`: turns a reader's list of samples into the feed dict `Executor.run` takes.

Not run directly; `fluid.DataFeeder(feed_list=[img, label], place=place).feed(batch)` works as in the book.
"""
from __future__ import annotations

from ._compat import FluidArgumentError, legacy_paddle, warn_once

paddle = legacy_paddle()
_PaddleDataFeeder = paddle.base.DataFeeder


class DataFeeder(_PaddleDataFeeder):
    """DataFeeder(feed_list, place, program=None): feed_list holds Variables or their names.

    `feed(batch)` stacks each sample slot into one array shaped like its variable (a flat 784-vector
    becomes [N, 1, 28, 28] for an `img` of shape [None, 1, 28, 28]; an int label becomes [N, 1]).
    """

    def __init__(self, feed_list, place, program=None):
        warn_once(
            "fluid.DataFeeder",
            "modern Paddle has no public DataFeeder: pass Executor.run a dict {name: numpy array} shaped like "
            "each paddle.static.data variable (or use paddle.io.DataLoader)",
        )
        program = paddle.static.default_main_program() if program is None else program
        block = program.global_block()
        for item in feed_list:
            if isinstance(item, str) and not block.has_var(item):
                raise FluidArgumentError(f"DataFeeder: feed_list names {item!r}, which the program does not have")
        super().__init__(feed_list=feed_list, place=place, program=program)
