"""`fluid.inferencer`: where fluid 0.15 kept the Inferencer before fluid 1.0 moved it to fluid.contrib.

Not run directly; the book's `except ImportError: from paddle.fluid.inferencer import *` fallback lands here.
"""
from __future__ import annotations

from .contrib.inferencer import *  # noqa: F401,F403
from .contrib.inferencer import __all__  # noqa: F401
