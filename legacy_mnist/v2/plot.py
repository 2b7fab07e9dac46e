"""`paddle.v2.plot.Ploter`: the project's Ploter (legacy_mnist.plot), which has v2's API.

Not run directly; `from legacy_mnist.v2.plot import Ploter`, or `paddle.plot.Ploter` after
`import legacy_mnist.v2 as paddle`: `Ploter(*titles)`, `.append(title, step, value)`, `.plot(path=None)`,
`.reset()`.
"""
from ..plot import Ploter

__all__ = ["Ploter"]
