"""`fluid.trainer`: where fluid 0.15 kept the Trainer before fluid 1.0 moved it to fluid.contrib.trainer.

Not run directly; the book's `except ImportError: from paddle.fluid.trainer import *` fallback lands here.
"""
from __future__ import annotations

from .contrib.trainer import *  # noqa: F401,F403
from .contrib.trainer import __all__  # noqa: F401
