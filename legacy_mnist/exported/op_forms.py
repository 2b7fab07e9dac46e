"""The op forms an export is written in: fc as reshape2 + matmul, and the ONNX conversion (paddle2onnx).

Not run directly: `python -m legacy_mnist.export` writes exports through these, and the inference backends
use the same rewrites in memory (OpenVINO reads an older `mul` export after `fc_as_matmul`).
"""
from __future__ import annotations

from ..common.extras import require
from ..common.native_output import native_output_captured
from ..errors import ModelError, UserError
from ..paddle_env import import_paddle
from .model_files import ModelFiles


def _set_attr(op, name: str, kind: str, value) -> None:
    from paddle.base.proto import framework_pb2

    attr = op.attrs.add()
    attr.name = name
    if kind == "bool":
        attr.type, attr.b = framework_pb2.BOOLEAN, value
    elif kind == "float":
        attr.type, attr.f = framework_pb2.FLOAT, value
    else:
        attr.type = framework_pb2.INTS
        attr.ints.extend(value)


def _slot(slots, name: str, *arguments: str) -> None:
    slot = slots.add()
    slot.parameter = name
    slot.arguments.extend(arguments)


def fc_as_matmul(program: bytes) -> bytes:
    """Rewrite every fully connected layer's fluid `mul` op as `reshape2` (to [-1, K]) + `matmul`.

    The export's one op form: OpenVINO's Paddle frontend has no converter for `mul` ("No creator found for
    mul node"), and `matmul_v2` does not exist in Paddle 1.8.5; `reshape2` + `matmul` (v1) load in 1.8.5,
    2.6.2 and 3.3.1, paddle2onnx converts them, and Paddle Inference fuses them back into one `fc` kernel.
    The arithmetic is the same product of the same weights (parameters untouched). A `mul` of any other
    shape (x_num_col_dims or y_num_col_dims not 1, a non-2-D weight) is left as it is.
    """
    from paddle.base.proto import framework_pb2

    desc = framework_pb2.ProgramDesc()
    desc.ParseFromString(program)
    block = desc.blocks[0]
    variables = {var.name: var for var in block.vars}

    def dims(name: str) -> list[int]:
        var = variables.get(name)
        return list(var.type.dense_tensor.tensor.dims) if var is not None else []

    ops, changed = [], False
    for op in block.ops:
        ins = {slot.parameter: list(slot.arguments) for slot in op.inputs}
        outs = {slot.parameter: list(slot.arguments) for slot in op.outputs}
        attrs = {attr.name: attr.i for attr in op.attrs if attr.name in ("x_num_col_dims", "y_num_col_dims")}
        x, y = (ins.get("X") or [""])[0], (ins.get("Y") or [""])[0]
        weight = dims(y)
        if (op.type != "mul" or attrs.get("x_num_col_dims", 1) != 1 or attrs.get("y_num_col_dims", 1) != 1
                or len(weight) != 2 or not dims(x) or len(outs.get("Out", [])) != 1):
            ops.append(op)
            continue
        changed, source = True, x
        if len(dims(x)) != 2:  # mul flattened [N, C, H, W] itself; matmul needs the [N, K] matrix
            source, xshape = f"{x}.flat", f"{x}.flat_xshape"
            for name, shape in ((source, [-1, weight[0]]), (xshape, [0, *dims(x)])):
                var = block.vars.add()
                var.CopyFrom(variables[x])
                var.name = name
                del var.type.dense_tensor.tensor.dims[:]
                var.type.dense_tensor.tensor.dims.extend(shape)
            reshape = framework_pb2.OpDesc(type="reshape2")
            _slot(reshape.inputs, "X", x)
            _slot(reshape.inputs, "Shape")
            _slot(reshape.inputs, "ShapeTensor")
            _slot(reshape.outputs, "Out", source)
            _slot(reshape.outputs, "XShape", xshape)
            _set_attr(reshape, "shape", "ints", [-1, weight[0]])
            ops.append(reshape)
        matmul = framework_pb2.OpDesc(type="matmul")
        _slot(matmul.inputs, "X", source)
        _slot(matmul.inputs, "Y", y)
        _slot(matmul.outputs, "Out", outs["Out"][0])
        _set_attr(matmul, "transpose_X", "bool", False)
        _set_attr(matmul, "transpose_Y", "bool", False)
        _set_attr(matmul, "alpha", "float", 1.0)
        ops.append(matmul)
    if not changed:
        return program
    kept = [framework_pb2.OpDesc() for _ in ops]
    for copy, op in zip(kept, ops):
        copy.CopyFrom(op)
    del block.ops[:]
    block.ops.extend(kept)
    return desc.SerializeToString()


ONNX_OPSET = 11  # ONNX Runtime since 1.2 and most other runtimes run opset 11
# What paddle2onnx 2.1.0 converts to (measured): 22 and above abort the process natively, below 7 it
# silently writes opset 7.
ONNX_OPSETS = range(7, 22)


def _require_onnx_tools():
    # paddle2onnx installs onnxruntime by itself when it is missing: refuse before that can happen.
    require("onnxruntime", "ONNX export")
    require("paddle2onnx", "ONNX export")
    import_paddle()
    import paddle2onnx

    return paddle2onnx


def check_opset(opset) -> int:
    if isinstance(opset, bool) or not isinstance(opset, int) or opset not in ONNX_OPSETS:
        raise UserError(f"--opset must be between {ONNX_OPSETS[0]} and {ONNX_OPSETS[-1]} (what paddle2onnx "
                        f"converts to), got {opset!r}")
    return opset


def paddle_to_onnx_bytes(files: ModelFiles, opset: int = ONNX_OPSET, verbose: bool = False) -> bytes:
    """Convert a Paddle export (legacy .pdmodel or PIR .json) to an ONNX model, returned as bytes."""
    paddle2onnx = _require_onnx_tools()
    error = None
    with native_output_captured(not verbose) as log:
        try:
            # save_file=None returns the bytes and skips paddle2onnx's optional optimiser, which would
            # auto-install packages; we write the file ourselves, atomically.
            data = paddle2onnx.export(str(files.model), str(files.params), save_file=None, opset_version=opset,
                                      auto_upgrade_opset=False)
        except Exception as exc:  # noqa: BLE001 - paddle2onnx logs its own error and returns nothing
            data, error = None, exc
    if not isinstance(data, bytes) or not data:
        reasons = [line for line in log if "rror" in line] or [str(error or "no model returned")]
        raise ModelError(f"{files.model}: paddle2onnx could not convert it ({reasons[-1].strip()[:200]})")
    return data
