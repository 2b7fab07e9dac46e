"""`fluid.core`: the few names of Paddle's C++ core the tutorials touch (Scope, places, CUDA check).

Not run directly; `with fluid.scope_guard(fluid.core.Scope()):` works as in the book.
"""
from __future__ import annotations

from ._compat import legacy_paddle, module_getattr
from .places import CPUPlace, CUDAPlace

paddle = legacy_paddle()

Scope = paddle.static.Scope
is_compiled_with_cuda = paddle.is_compiled_with_cuda
EOFException = paddle.base.core.EOFException  # a non-iterable DataLoader's pass ended

__all__ = ["CPUPlace", "CUDAPlace", "EOFException", "Scope", "is_compiled_with_cuda"]

__getattr__ = module_getattr(
    "fluid.core",
    {
        "LoDTensor": "numpy arrays: feed them to Executor.run directly (LoD was removed)",
        "LoDTensorArray": "paddle.tensor.create_array",
        "get_cuda_device_count": "paddle.device.cuda.device_count",
        "is_compiled_with_xpu": "paddle.is_compiled_with_xpu",
        "VarDesc": "paddle.base.core.VarDesc (internal) or dtype strings such as 'float32'",
    },
)
