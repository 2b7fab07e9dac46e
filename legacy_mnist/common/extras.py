"""Optional packages and the setup.py extra that installs each: a missing one is a one-line error naming it.

Not run directly; `bench` (PyTorch), `export --onnx` and `infer --backend onnx` (ONNX Runtime, paddle2onnx),
`infer --backend openvino` (OpenVINO)
and `train --visualdl` call `require` before they import the package. Nothing here installs anything.
"""
from __future__ import annotations

import importlib.util

from ..errors import UserError

# import name -> (extra in setup.py, the requirement it pins)
OPTIONAL = {
    "torch": ("bench", "torch==2.13.0"),
    "onnxruntime": ("onnx", "onnxruntime>=1.16"),
    "paddle2onnx": ("onnx", "paddle2onnx==2.1.0"),
    "openvino": ("openvino", "openvino==2026.4.0"),
    "visualdl": ("visualdl", "visualdl==2.5.3"),
}


def missing_message(module: str, purpose: str) -> str:
    extra, requirement = OPTIONAL[module]
    return (f"{purpose} needs {requirement.split('=')[0].split('>')[0]}, which is not installed: install the "
            f"'{extra}' extra, pip install \".[{extra}]\" in the legacy_mnist checkout (it adds {requirement})")


def require(module: str, purpose: str, error: type[UserError] = UserError) -> None:
    """Raise `error` (one line naming the extra) when `module` cannot be imported."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise error(missing_message(module, purpose))
