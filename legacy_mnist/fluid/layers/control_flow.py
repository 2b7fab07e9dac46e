"""`fluid.layers.control_flow`: importable, so fluid-era scripts that import from it load.

Not run directly. No control-flow layer of fluid is covered (the recognize-digits scripts use none):
each name gives its modern replacement (paddle.static.nn.cond / while_loop / switch_case, ...), and
`ParallelDo` (removed before fluid 1.8, which has none either) names paddle.static.CompiledProgram.
"""
from __future__ import annotations

from .._compat import module_getattr
from ._hints import REPLACEMENTS

__getattr__ = module_getattr("fluid.layers.control_flow", REPLACEMENTS)
