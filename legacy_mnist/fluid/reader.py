"""`fluid.io.DataLoader` / `fluid.io.PyReader`: fluid 1.8's generator-fed loader, static and dygraph.

Not run directly. `loader = fluid.io.DataLoader.from_generator(feed_list=[img, label], capacity=64,
iterable=True)` then `loader.set_sample_generator(reader, batch_size, places=place)` /
`set_sample_list_generator(batch_reader, places)` / `set_batch_generator(batch_reader, places)`, and
`for data in loader(): exe.run(feed=data, ...)` - or, with `iterable=False`, `loader.start()`, `exe.run()`
without a feed until `fluid.core.EOFException`, `loader.reset()`. Inside `fluid.dygraph.guard()` the loader
yields lists of Tensors (fluid forced iterable=True, return_list=True there too). `DataLoader(dataset,
...)` is paddle.io.DataLoader. Batches come out in the generator's order; the loading runs in the
caller's thread (fluid's prefetch thread bought overlap, not different data).
"""
from __future__ import annotations

import logging
import weakref

import numpy as np

from ._compat import FluidArgumentError, legacy_paddle, warn_once

paddle = legacy_paddle()

_logger = logging.getLogger("legacy_mnist.fluid")
# Non-iterable loaders by the program whose `exe.run()` (no feed) pulls their next batch.
_FEEDING = weakref.WeakKeyDictionary()


def _places(places):
    """fluid's _convert_places: one place, a list of places, or None."""
    if places is None:
        return None
    return list(places) if isinstance(places, (list, tuple)) else [places]


def _slots(batch):
    """A sample-list batch [(img, label), ...] as one list per slot."""
    if not batch:
        return []
    width = len(batch[0])
    return [[sample[i] for sample in batch] for i in range(width)]


def _batched(reader, batch_size, drop_last):
    def batch_reader():
        batch = []
        for sample in reader():
            batch.append(sample)
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch and not drop_last:
            yield batch

    return batch_reader


class GeneratorLoader:
    """What DataLoader.from_generator returns: set a data source, then iterate (or start/reset)."""

    def __init__(self, feed_list=None, capacity=None, use_double_buffer=True, iterable=True, return_list=False,
                 use_multiprocess=False, drop_last=True):
        if not capacity:
            raise FluidArgumentError("DataLoader.from_generator: please give a value to capacity (fluid required it)")
        self._dygraph = paddle.in_dynamic_mode()
        self._feed_list = list(feed_list) if feed_list else []
        self._capacity = capacity
        self._drop_last = drop_last
        self._batch_reader = None  # yields one list of arrays (one per slot) per batch
        self._place_list = None
        if self._dygraph:
            if not iterable:
                _logger.warning("Please NOTE: imperative mode can support iterable mode only. Change to iterable mode.")
            if not return_list:
                _logger.warning("Please NOTE: imperative mode can support return as list only. "
                                "Change to return as list.")
            iterable, return_list = True, True
        elif not self._feed_list:
            raise FluidArgumentError("DataLoader.from_generator: feed_list must be given under static mode")
        self._iterable = iterable
        self._return_list = return_list
        self._running = None  # the generator a non-iterable loader is reading after start()
        if not self._iterable:
            _FEEDING.setdefault(paddle.static.default_main_program(), []).append(self)

    @property
    def iterable(self):
        return self._iterable

    # -- data sources (fluid's three setters; each returns the loader) --------------------------------
    def set_sample_generator(self, reader, batch_size, drop_last=True, places=None):
        """`reader()` yields one sample (a tuple of slots) at a time; batch them `batch_size` at a time."""
        if batch_size <= 0:
            raise FluidArgumentError("set_sample_generator: batch_size must be larger than 0")
        return self.set_sample_list_generator(_batched(reader, batch_size, drop_last), places)

    def set_sample_list_generator(self, reader, places=None):
        """`reader()` yields lists of samples (what paddle.batch makes)."""
        if self._dygraph:
            def batch_reader():
                for batch in reader():
                    yield [np.array(slot) for slot in _slots(batch)]
        else:
            from .data_feeder import DataFeeder

            with paddle.static.program_guard(paddle.static.Program(), paddle.static.Program()):
                feeder = DataFeeder(feed_list=self._feed_list, place=paddle.CPUPlace(),
                                    program=self._feed_list[0].block.program)
            names = [var.name for var in self._feed_list]

            def batch_reader():
                for batch in reader():
                    feed = feeder.feed(batch)
                    yield [np.asarray(feed[name]) for name in names]
        return self.set_batch_generator(batch_reader, places)

    def set_batch_generator(self, reader, places=None):
        """`reader()` yields one batch at a time: a list/tuple of arrays, one per feed variable."""
        places = _places(places)
        if self._dygraph:
            if places is not None and len(places) != 1:
                raise FluidArgumentError("DataLoader: number of places must be 1 in imperative mode")
        elif self._iterable and places is None:
            raise FluidArgumentError("DataLoader: places cannot be None when the DataLoader is iterable "
                                     "(pass places=fluid.cpu_places() or the Executor's place)")
        self._place_list = places
        self._batch_reader = reader
        return self

    # -- iterable use ---------------------------------------------------------------------------
    def _arrays(self):
        if self._batch_reader is None:
            raise FluidArgumentError("DataLoader: the data source has not been set "
                                     "(call set_sample_generator / set_sample_list_generator / set_batch_generator)")
        for batch in self._batch_reader():
            if isinstance(batch, np.ndarray) or not isinstance(batch, (list, tuple)):
                batch = [batch]
            yield [item.numpy() if hasattr(item, "numpy") and not isinstance(item, np.ndarray) else np.asarray(item)
                   for item in batch]

    def _feed_dict(self, arrays):
        if len(arrays) != len(self._feed_list):
            raise FluidArgumentError(f"DataLoader: the generator gave {len(arrays)} arrays per batch for "
                                     f"{len(self._feed_list)} feed variables")
        return {var.name: array for var, array in zip(self._feed_list, arrays)}

    def __call__(self):
        return self.__iter__()

    def __iter__(self):
        if not self._iterable:
            raise FluidArgumentError("DataLoader is not iterable (iterable=False): call start(), run the "
                                     "program until fluid.core.EOFException, then reset()")
        if self._dygraph:
            for arrays in self._arrays():
                yield [paddle.to_tensor(array) for array in arrays]
            return
        # Static: one feed per place, as fluid gave a data-parallel CompiledProgram; a plain Program
        # takes the one-element list too.
        group = []
        for arrays in self._arrays():
            group.append(arrays if self._return_list else self._feed_dict(arrays))
            if len(group) == len(self._place_list):
                yield group
                group = []
        if group and not self._drop_last:
            yield group

    # -- non-iterable use -------------------------------------------------------------------------
    def start(self):
        """Begin a pass: each feed-less Executor.run of the program reads the next batch."""
        if self._iterable:
            raise FluidArgumentError("DataLoader.start(): only for iterable=False loaders")
        self._running = self._arrays()

    def reset(self):
        """End the pass (after fluid.core.EOFException, or early)."""
        if self._iterable:
            raise FluidArgumentError("DataLoader.reset(): only for iterable=False loaders")
        self._running = None

    def _next_feed(self):
        if self._running is None:
            raise FluidArgumentError("DataLoader: the program reads from a non-iterable DataLoader; call "
                                     "loader.start() before Executor.run")
        try:
            return self._feed_dict(next(self._running))
        except StopIteration:
            self._running = None
            raise paddle.base.core.EOFException(
                "There is no next data. (the DataLoader's pass ended: call loader.reset())") from None


def feed_from_loaders(program, feed):
    """The feed for `exe.run(program)`: the next batch of each started non-iterable loader of `program`."""
    loaders = _FEEDING.get(program)
    if not loaders or feed:
        return feed
    merged = {}
    for loader in loaders:
        merged.update(loader._next_feed())
    return merged


class DataLoader:
    """fluid.io.DataLoader: `DataLoader(dataset, ...)` is paddle.io.DataLoader; see from_generator."""

    def __new__(cls, dataset, feed_list=None, places=None, return_list=None, **kwargs):
        if return_list is None:
            return_list = paddle.in_dynamic_mode()  # fluid's default False, forced True in dygraph
        return paddle.io.DataLoader(dataset, feed_list=feed_list, places=places, return_list=return_list, **kwargs)

    @staticmethod
    def from_generator(feed_list=None, capacity=None, use_double_buffer=True, iterable=True, return_list=False,
                       use_multiprocess=False, drop_last=True):
        """A loader fed from a Python generator (see GeneratorLoader)."""
        warn_once("fluid.io.DataLoader.from_generator",
                  "paddle.io.DataLoader has no from_generator: wrap the generator in a paddle.io.IterableDataset "
                  "and pass it to paddle.io.DataLoader(dataset, batch_size=None)")
        return GeneratorLoader(feed_list, capacity, use_double_buffer, iterable, return_list, use_multiprocess,
                               drop_last)

    @staticmethod
    def from_dataset(dataset, places, drop_last=True):
        raise FluidArgumentError("DataLoader.from_dataset (fluid.DatasetFactory datasets) is not covered by "
                                 "legacy_mnist.fluid; use paddle.io.DataLoader over a paddle.io.Dataset")


class PyReader(GeneratorLoader):
    """fluid.io.PyReader(feed_list, capacity, use_double_buffer=True, iterable=True, return_list=False).

    fluid 1.8 built it on the same loader; its decorate_* names are the set_*_generator methods.
    """

    def __init__(self, feed_list=None, capacity=None, use_double_buffer=True, iterable=True, return_list=False):
        warn_once("fluid.io.PyReader", "use paddle.io.DataLoader")
        super().__init__(feed_list, capacity, use_double_buffer, iterable, return_list)

    def decorate_sample_generator(self, sample_generator, batch_size, drop_last=True, places=None):
        return self.set_sample_generator(sample_generator, batch_size, drop_last, places)

    def decorate_sample_list_generator(self, reader, places=None):
        return self.set_sample_list_generator(reader, places)

    def decorate_batch_generator(self, reader, places=None):
        return self.set_batch_generator(reader, places)
