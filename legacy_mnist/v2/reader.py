"""`paddle.reader`: v2's reader decorators, which Paddle 3.3.1 still ships as `paddle.reader`.

Not run directly; `paddle.reader.shuffle(paddle.dataset.mnist.train(), buf_size=20000)`,
`paddle.reader.firstn(reader, 1000)`, `buffered`, `chain`, `compose`, `map_readers`, `xmap_readers`, `cache`.
They are Paddle's own functions, which kept v2's semantics (shuffle draws from Python's `random`).
"""
from __future__ import annotations

from ._names import v2_getattr
from ..fluid._compat import legacy_paddle

_reader = legacy_paddle().reader
ComposeNotAligned = _reader.ComposeNotAligned
buffered = _reader.buffered
cache = _reader.cache
chain = _reader.chain
compose = _reader.compose
firstn = _reader.firstn
map_readers = _reader.map_readers
multiprocess_reader = _reader.multiprocess_reader
shuffle = _reader.shuffle
xmap_readers = _reader.xmap_readers

__getattr__ = v2_getattr("reader", {
    "creator": "a generator function (def reader(): yield sample) or paddle.io.Dataset",
    "PipeReader": "a generator function reading the pipe, or paddle.io.IterableDataset",
})
