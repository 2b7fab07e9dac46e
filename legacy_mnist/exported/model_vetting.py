"""Check an exported program before anything native reads it: the op allow-list and the program's structure.

Vet an export by hand:  python -m legacy_mnist.exported.model_vetting inference_model/cnn/model.pdmodel
Paddle's C++ runs whatever ops a program names - `save`/`load` write and read files, `py_func` calls Python,
an unknown op type or a dangling variable name crashes the process - and a program comes with a model from a
stranger. So a program (legacy `.pdmodel` or Paddle 1.8 `__model__`, PIR `.json`, ONNX) is parsed here in
pure Python first, and refused, naming the op, unless every op is one an exported digit classifier needs
(ALLOWED_OPS, the one list) and the structure is sound: one block, no sub-blocks, every variable an op uses
declared, parameter names that are plain names, sane convolution/pooling attributes. Native code sees the
program only after that.
Why this is long: the one op allow-list (a shared decision: one list) and the three pure-Python readers that
enforce it side by side.
"""
from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

from . import protobuf_wire as wire
from ..errors import ModelError


class Op(NamedTuple):
    legacy: str  # op type in a legacy-IR ProgramDesc (.pdmodel, Paddle 1.8's __model__); "" if none
    pir: tuple[str, ...] = ()  # its names in a PIR program (.json), pd_op dialect
    onnx: tuple[str, ...] = ()  # ONNX op types paddle2onnx turns it into
    # Legacy slots, "in:out": each named slot holds exactly one variable; `?` marks one that may be absent
    # or empty, `*` one that may hold any number. A kernel missing a slot it needs crashes the process
    # (batch_norm without Scale does), so a program's slots must be these.
    slots: str = "X:Out"


# THE allow-list: every op an exported MNIST classifier is made of - ours, and what Paddle 1.8.5 and 2.6.2
# export for the book's networks, the AI Studio course's and the 2.x LeNet tutorials (`tests/
# test_model_vetting.py` exports each of those with the real Paddle and checks it passes). An export that
# needs another op type (a new layer): add its row here, with a test that exports that network.
ALLOWED_OPS = (
    Op("feed", ("data",)),
    Op("fetch", ("fetch",)),
    Op("conv2d", ("conv2d",), ("Conv",), "Input Filter Bias? ResidualData?:Output"),  # 1.8 lists empty Bias...
    Op("depthwise_conv2d", ("depthwise_conv2d",), ("Conv",), "Input Filter Bias? ResidualData?:Output"),
    Op("pool2d", ("pool2d",), ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool")),
    Op("batch_norm", ("batch_norm", "batch_norm_"), ("BatchNormalization",),
       "X Scale Bias Mean Variance MomentumTensor?:Y MeanOut VarianceOut SavedMean SavedVariance ReserveSpace?"),
    Op("dropout", ("dropout",), ("Dropout",), "X Seed?:Out Mask?"),  # an identity (or a scale) when inferring
    Op("mul", (), ("MatMul", "Gemm"), "X Y:Out"),  # fluid's fc
    Op("matmul", ("matmul",), ("MatMul", "Gemm"), "X Y:Out"),
    Op("matmul_v2", ("matmul",), ("MatMul", "Gemm"), "X Y:Out"),
    Op("elementwise_add", ("add",), ("Add",), "X Y:Out"),
    Op("scale", ("scale",), ("Mul", "Add"), "X ScaleTensor? BiasTensor?:Out"),  # 2.x exports end in scale(1.0)
    Op("relu", ("relu",), ("Relu",)),
    Op("tanh", ("tanh",), ("Tanh",)),
    Op("sigmoid", ("sigmoid",), ("Sigmoid",)),
    Op("softmax", ("softmax",), ("Softmax",)),
    Op("reshape2", ("reshape",), ("Reshape",), "X Shape? ShapeTensor*:Out XShape?"),
    Op("reshape", ("reshape",), ("Reshape",), "X Shape? ShapeTensor*:Out"),
    Op("flatten2", ("flatten",), ("Flatten", "Reshape"), "X:Out XShape?"),
    Op("flatten_contiguous_range", ("flatten",), ("Flatten", "Reshape"), "X:Out XShape?"),
    # x.shape[0] in a 2.x network's forward (the AI Studio course's reshape) exports as these three:
    Op("shape", ("shape", "shape64"), ("Shape",), "Input:Out"),
    Op("slice", ("slice",), ("Slice", "Gather"),
       "Input StartsTensor? EndsTensor? StartsTensorList* EndsTensorList*:Out"),
    Op("fill_constant", ("full", "full_int_array"), ("Constant", "ConstantOfShape"),
       "ValueTensor? ShapeTensor? ShapeTensorList*:Out"),
    # PIR keeps parameters and constant shapes as ops of their own; converters add constants and casts.
    Op("", ("parameter", "shadow_output", "full_int_array", "assign"),
       ("Constant", "Identity", "Cast", "Unsqueeze", "Squeeze", "Concat")),
)
LEGACY_OPS = frozenset(op.legacy for op in ALLOWED_OPS if op.legacy)
_SLOTS = {op.legacy: tuple(side.split() for side in op.slots.split(":")) for op in ALLOWED_OPS if op.legacy}
PIR_OPS = frozenset(name for op in ALLOWED_OPS for name in op.pir)
ONNX_OPS = frozenset(name for op in ALLOWED_OPS for name in op.onnx)

MAX_PROGRAM_BYTES = 16 << 20  # our cnn's program is 6 KB; a program of 16 MB is not a digit classifier
MAX_OPS = 4096
MAX_TENSOR_ELEMENTS = 1 << 28  # 1 GiB of float32 in one parameter: far beyond any MNIST network
_DIM_LIMIT = 1 << 31
# Attributes whose bad values make Paddle's kernels divide by zero or index out of bounds (checked on every
# op that has them): the smallest and largest value each element may take.
ATTR_BOUNDS = {
    "strides": (1, 1024), "dilations": (1, 1024), "groups": (1, 1 << 16), "ksize": (1, 1 << 16),
    "paddings": (0, 1 << 16), "x_num_col_dims": (1, 8), "y_num_col_dims": (1, 8),
    "shape": (-1, _DIM_LIMIT - 1), "axis": (-8, 8), "axes": (-8, 8), "start_axis": (-8, 8), "stop_axis": (-8, 8),
    "col": (0, 64),
}
# ...and the attribute types those (and a few others) must have: Paddle reads an attribute by the type its
# kernel expects. (AttrType: 0 INT, 1 FLOAT, 2 STRING, 3 INTS, 5 STRINGS, 6 BOOLEAN, 11 LONGS.)
ATTR_TYPES = {
    "strides": {3}, "dilations": {3}, "groups": {0}, "ksize": {3}, "paddings": {3}, "x_num_col_dims": {0},
    "y_num_col_dims": {0}, "shape": {3, 11}, "axis": {0}, "axes": {3}, "start_axis": {0}, "stop_axis": {0},
    "col": {0}, "epsilon": {1}, "momentum": {1}, "scale": {1}, "bias": {1}, "dropout_prob": {1},
    "data_format": {2}, "data_layout": {2}, "padding_algorithm": {2}, "pooling_type": {2}, "is_test": {6},
    "global_pooling": {6}, "adaptive": {6}, "ceil_mode": {6}, "exclusive": {6}, "trans_x": {6}, "trans_y": {6},
    "transpose_X": {6}, "transpose_Y": {6}, "starts": {3}, "ends": {3}, "decrease_axis": {3}, "infer_flags": {3},
    "dtype": {0}, "value": {1}, "op_callstack": {5}, "op_role_var": {5}, "op_namescope": {2}, "op_device": {2},
    "op_role": {0}, "use_global_stats": {6}, "trainable_statistics": {6}, "bias_after_scale": {6},
}
_ATTR_STRINGS = {  # string attributes that select a kernel path: the values that exist
    "data_format": {"NCHW", "NHWC", "AnyLayout"}, "data_layout": {"NCHW", "NHWC", "AnyLayout"},
    "padding_algorithm": {"EXPLICIT", "SAME", "VALID"}, "pooling_type": {"max", "avg"},
}
_DTYPES = {0: "bool", 1: "int16", 2: "int32", 3: "int64", 4: "float16", 5: "float32", 6: "float64", 20: "uint8",
           21: "int8", 22: "bfloat16"}
_DENSE, _FEED, _FETCH = 7, 9, 10
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,512}")


def _plain_parameter_name(name: str) -> bool:
    """Paddle 1.8 stores each parameter in a file named after it: no path may hide in the name."""
    return bool(_NAME.fullmatch(name)) and "/" not in name and "\\" not in name and name not in (".", "..")


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class ProgramInfo:
    """What the loader needs to know about a vetted program."""

    format: str  # "legacy", "pir" or "onnx"
    op_types: tuple[str, ...]  # in program order
    feeds: tuple[Tensor, ...]  # in feed column order
    fetches: tuple[str, ...]
    parameters: tuple[Tensor, ...] = field(default=())  # persistable tensors, sorted by name (the .pdiparams order)

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the only input was exported with, when it is fixed (None: any batch size)."""
        if len(self.feeds) != 1 or not self.feeds[0].dims:
            return None
        first = self.feeds[0].dims[0]
        return first if first > 0 else None


def _refuse(where: str, text: str) -> ModelError:
    return ModelError(f"{where}: {text}; not loaded")


# ------------------------------------------------------------------------------------- legacy programs
def tensor_desc(data: bytes) -> tuple[int, tuple[int, ...]]:
    """(data type code, dims) of a Paddle TensorDesc message (also the header of each .pdiparams tensor)."""
    dtype, dims = None, []
    for number, kind, value in wire.fields(data):
        if number == 1 and kind == wire.VARINT:
            dtype = value
        elif number == 2:
            dims += [wire.signed64(v) for v in wire.repeated_varints(kind, value)]
        else:
            raise wire.WireError(f"tensor description field {number}")
    if dtype is None:
        raise wire.WireError("a tensor without a data type")
    return dtype, tuple(dims)


def _var_type(data: bytes) -> tuple[int, int | None, tuple[int, ...]]:
    """(variable kind, data type, dims) from a VarType message."""
    kind_of, dtype, dims = None, None, ()
    for number, kind, value in wire.fields(data):
        if number == 1 and kind == wire.VARINT:
            kind_of = value
        elif number == 3 and kind == wire.LENGTH:  # lod_tensor (1.x, 2.x) / dense_tensor (3.x)
            for inner, inner_kind, inner_value in wire.fields(value):
                if inner == 1 and inner_kind == wire.LENGTH:
                    dtype, dims = tensor_desc(inner_value)
                elif inner != 2:
                    raise wire.WireError(f"dense tensor field {inner}")
        else:  # selected rows, tensor arrays, readers, tuples ...: no digit classifier has those
            raise wire.WireError(f"variable type field {number}")
    if kind_of is None:
        raise wire.WireError("a variable without a type")
    return kind_of, dtype, dims


def _var_desc(data: bytes) -> tuple[str, int, int | None, tuple[int, ...], bool]:
    name, var_type, persistable = None, None, False
    for number, kind, value in wire.fields(data):
        if number == 1:
            name = wire.text(value, "a variable name")
        elif number == 2 and kind == wire.LENGTH:
            var_type = _var_type(value)
        elif number == 3 and kind == wire.VARINT:
            persistable = bool(value)
        elif number in (4, 5, 6) and kind == wire.VARINT:
            pass  # need_check_feed, is_parameter, stop_gradient
        elif number == 7 and kind == wire.LENGTH:  # VarDesc.Attr {required name = 1, required type = 2, ...}
            seen = {inner for inner, _, _ in wire.fields(value)}
            if not {1, 2} <= seen or not seen <= {1, 2, 3, 4, 5}:
                raise wire.WireError("a variable attribute without a name or type")
        else:
            raise wire.WireError(f"variable field {number}")
    if name is None or var_type is None:
        raise wire.WireError("a variable without a name or type")
    return (name, *var_type, persistable)


_INT_LISTS = {6: "ints", 15: "longs", 11: "bools"}


def _attr(data: bytes) -> tuple[str, int, list]:
    """(name, attribute type, numeric or string values) of one op attribute."""
    name, attr_type, values = None, None, []
    for number, kind, value in wire.fields(data):
        if number == 1:
            name = wire.text(value, "an attribute name")
        elif number == 2 and kind == wire.VARINT:
            attr_type = value
        elif number in (3, 13, 12) and kind == wire.VARINT:
            values.append(wire.signed64(value))
        elif number == 10 and kind == wire.VARINT:
            values.append(int(bool(value)))
        elif number in _INT_LISTS:
            values += [wire.signed64(v) for v in wire.repeated_varints(kind, value)]
        elif number == 4:
            values += wire.repeated_fixed(kind, value, 4)
        elif number == 7:
            values += wire.repeated_fixed(kind, value, 4)
        elif number in (16, 19):
            values += wire.repeated_fixed(kind, value, 8)
        elif number in (5, 8, 17, 18) and kind == wire.LENGTH:
            values.append(wire.text(value, "a string attribute"))
        elif number in (14,):
            values += wire.repeated_varints(kind, value)
        elif number in (20, 21) and kind == wire.LENGTH:
            pass  # Scalar attributes (3.x): checked by type below
        else:
            raise wire.WireError(f"attribute field {number}")
    if name is None or attr_type is None:
        raise wire.WireError("an attribute without a name or type")
    return name, attr_type, values


_SUB_BLOCK_ATTRS = {8: "a sub-block", 10: "sub-blocks", 13: "a variable", 14: "variables"}


def _op_desc(data: bytes) -> tuple[str, dict, dict, list]:
    op_type, inputs, outputs, attrs = None, {}, {}, []
    for number, kind, value in wire.fields(data):
        if number == 3:
            op_type = wire.text(value, "an op type")
        elif number in (1, 2) and kind == wire.LENGTH:
            slot, args = None, []
            for inner, _, inner_value in wire.fields(value):
                if inner == 1:
                    slot = wire.text(inner_value, "an op slot")
                elif inner == 2:
                    args.append(wire.text(inner_value, "an op argument"))
                else:
                    raise wire.WireError(f"op argument field {inner}")
            if slot is None:
                raise wire.WireError("an op argument list without a slot name")
            (inputs if number == 1 else outputs)[slot] = args
        elif number == 4 and kind == wire.LENGTH:
            attrs.append(_attr(value))
        elif number == 5 and kind == wire.VARINT:
            pass  # is_target
        else:
            raise wire.WireError(f"op field {number}")
    if op_type is None:
        raise wire.WireError("an op without a type")
    return op_type, inputs, outputs, attrs


def _check_attrs(where: str, index: int, op_type: str, attrs: list) -> None:
    names = set()
    for name, attr_type, values in attrs:
        if name in names:
            raise _refuse(where, f"op {index} ({op_type}) sets attribute {name!r} twice")
        names.add(name)
        if attr_type in _SUB_BLOCK_ATTRS:
            raise _refuse(where, f"op {index} ({op_type}) has an attribute {name!r} that refers to "
                                 f"{_SUB_BLOCK_ATTRS[attr_type]} (control flow has no place in a digit classifier)")
        if attr_type > 17:
            raise _refuse(where, f"op {index} ({op_type}) has attribute {name!r} of unknown type {attr_type}")
        if name in ATTR_TYPES and attr_type not in ATTR_TYPES[name]:
            raise _refuse(where, f"op {index} ({op_type}) has attribute {name!r} of type {attr_type}, expected "
                                 f"{' or '.join(map(str, sorted(ATTR_TYPES[name])))}")
        numbers = [v for v in values if not isinstance(v, str)]
        if any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
            raise _refuse(where, f"op {index} ({op_type}) has a non-finite value in attribute {name!r}")
        bounds = ATTR_BOUNDS.get(name)
        if bounds and any(not bounds[0] <= v <= bounds[1] for v in numbers):
            raise _refuse(where, f"op {index} ({op_type}) has attribute {name}={numbers} outside "
                                 f"[{bounds[0]}, {bounds[1]}]")
        allowed = _ATTR_STRINGS.get(name)
        if allowed and any(isinstance(v, str) and v not in allowed for v in values):
            raise _refuse(where, f"op {index} ({op_type}) has attribute {name}={values} (expected one of "
                                 f"{', '.join(sorted(allowed))})")


def _check_slots(where: str, index: int, op_type: str, slots: dict, expected: list[str], side: str) -> None:
    """The op's input or output slots are exactly the ones its kernel reads (see Op.slots)."""
    known = {name.rstrip("?*"): name[-1] if name[-1] in "?*" else "" for name in expected}
    for slot, args in slots.items():
        if slot not in known:
            raise _refuse(where, f"op {index} ({op_type}) has an {side} slot {slot!r} that it does not have")
        if known[slot] != "*" and len(args) > 1:
            raise _refuse(where, f"op {index} ({op_type}) has {len(args)} variables in its {side} {slot!r}")
    for slot, mark in known.items():
        if not mark and len(slots.get(slot, [])) != 1:
            raise _refuse(where, f"op {index} ({op_type}) lacks its {side} {slot!r} (damaged program?)")


def _slot_names(where: str, index: int, op_type: str, slots: dict, declared: dict) -> None:
    for slot, args in slots.items():
        for arg in args:
            if arg not in declared:
                raise _refuse(where, f"op {index} ({op_type}) uses variable {arg!r} ({slot}) that the program "
                                     "does not declare (damaged program?)")


def _check_version_message(number: int, data: bytes) -> None:
    """Program fields 3 (1.8's op_compatible_map), 4 (version), 5 (op_version_map): Paddle's C++ parser fails
    (and prints to stderr) on a missing required field, so they are checked as strictly as it would."""
    if number == 4:  # Version {optional int64 version = 1}
        if any(entry != 1 or kind != wire.VARINT for entry, kind, _ in wire.fields(data)):
            raise wire.WireError("a damaged program version")
        return
    for entry, kind, pair in wire.fields(data):  # {repeated pair = 1; (1.8: optional string default = 2)}
        if number == 3 and entry == 2 and kind == wire.LENGTH:
            continue
        if entry != 1 or kind != wire.LENGTH:
            raise wire.WireError("a damaged op version map")
        parts = {inner: (inner_kind, value) for inner, inner_kind, value in wire.fields(pair)}
        if set(parts) != {1, 2} or parts[1][0] != wire.LENGTH or parts[2][0] != wire.LENGTH:
            raise wire.WireError("an op version entry without an op name or version")
        info = {inner: (inner_kind, value) for inner, inner_kind, value in wire.fields(parts[2][1])}
        required = {1: wire.VARINT} if number == 5 else {1: wire.LENGTH, 2: wire.VARINT}  # OpVersion / CompatibleInfo
        if {k: v[0] for k, v in info.items()} != required or (number == 3 and info[2][1] > 4):
            raise wire.WireError("a damaged op version entry")


def vet_legacy_program(data: bytes, where: str) -> ProgramInfo:
    """Vet a legacy-IR ProgramDesc (.pdmodel, Paddle 1.8's __model__); ModelError (one line) if refused."""
    if len(data) > MAX_PROGRAM_BYTES:
        raise _refuse(where, f"{len(data):,} bytes is more than any digit classifier's program")
    blocks = []
    try:
        for number, kind, value in wire.fields(data):
            if number == 1 and kind == wire.LENGTH:
                blocks.append(value)
            elif number in (3, 4, 5) and kind == wire.LENGTH:
                _check_version_message(number, value)
            else:
                raise wire.WireError(f"program field {number}")
        if len(blocks) != 1:
            raise _refuse(where, f"has {len(blocks)} blocks; a digit classifier's program has exactly one "
                                 "(sub-blocks are control flow)")
        variables, ops = {}, []
        for number, kind, value in wire.fields(blocks[0]):
            if number in (1, 2, 5) and kind == wire.VARINT:
                expected = {1: 0, 2: -1, 5: -1}[number]  # index, parent index, forward block index
                if wire.signed64(value) != expected:
                    raise wire.WireError(f"the only block has {('index', 'parent index', '', '', 'forward index')[number - 1]} "
                                         f"{wire.signed64(value)}")
            elif number == 3 and kind == wire.LENGTH:
                name, var_kind, dtype, dims, persistable = _var_desc(value)
                if name in variables:
                    raise _refuse(where, f"declares variable {name!r} twice")
                variables[name] = (var_kind, dtype, dims, persistable)
            elif number == 4 and kind == wire.LENGTH:
                ops.append(_op_desc(value))
                if len(ops) > MAX_OPS:
                    raise _refuse(where, f"has more than {MAX_OPS} ops")
            else:
                raise wire.WireError(f"block field {number}")
    except wire.WireError as exc:
        raise _refuse(where, f"not a Paddle program, or a damaged one ({exc})") from None
    return _legacy_info(where, variables, ops)


def _legacy_info(where: str, variables: dict, ops: list) -> ProgramInfo:
    refused = sorted({op_type for op_type, *_ in ops if op_type not in LEGACY_OPS})
    if refused:
        raise _refuse(where, f"contains op type{'s' if len(refused) > 1 else ''} {', '.join(map(repr, refused))}, "
                             "which a digit classifier does not use (only the ops in legacy_mnist.exported.model_vetting."
                             "ALLOWED_OPS may run)")
    parameters = []
    for name, (var_kind, dtype, dims, persistable) in variables.items():
        if not _NAME.fullmatch(name):
            raise _refuse(where, f"has a variable name with control characters or of {len(name)} characters")
        if var_kind not in (_DENSE, _FEED, _FETCH):
            raise _refuse(where, f"variable {name!r} is of kind {var_kind}, not a tensor")
        if var_kind != _DENSE:
            continue
        if dtype not in _DTYPES:
            raise _refuse(where, f"variable {name!r} has unknown data type {dtype}")
        if any(not -1 <= d < _DIM_LIMIT for d in dims):
            raise _refuse(where, f"variable {name!r} has shape {list(dims)}")
        if persistable:
            if not _plain_parameter_name(name):
                raise _refuse(where, f"parameter name {name!r} is not a plain name")
            if any(d < 1 for d in dims) or math.prod(dims) > MAX_TENSOR_ELEMENTS:
                raise _refuse(where, f"parameter {name!r} has shape {list(dims)}")
            parameters.append(Tensor(name, _DTYPES[dtype], dims))
    feeds, fetches = {}, {}
    for index, (op_type, inputs, outputs, attrs) in enumerate(ops):
        _check_slots(where, index, op_type, inputs, _SLOTS[op_type][0], "input")
        _check_slots(where, index, op_type, outputs, _SLOTS[op_type][1], "output")
        _slot_names(where, index, op_type, inputs, variables)
        _slot_names(where, index, op_type, outputs, variables)
        _check_attrs(where, index, op_type, attrs)
        if op_type in ("feed", "fetch"):
            column = next((int(v[0]) for n, _, v in attrs if n == "col" and v), 0)
            source, target = inputs.get("X", []), outputs.get("Out", [])
            if len(source) != 1 or len(target) != 1 or column in (feeds if op_type == "feed" else fetches):
                raise _refuse(where, f"op {index} ({op_type}) is malformed")
            if op_type == "feed":
                kind_of, dtype, dims, _ = variables[target[0]]
                if variables[source[0]][0] != _FEED or kind_of != _DENSE:
                    raise _refuse(where, f"op {index} (feed) does not feed a tensor")
                feeds[column] = Tensor(target[0], _DTYPES.get(dtype, "?"), dims)
            else:
                if variables[target[0]][0] != _FETCH:
                    raise _refuse(where, f"op {index} (fetch) does not fetch into the fetch list")
                fetches[column] = source[0]
    if not feeds or not fetches:
        raise _refuse(where, "has no feed or no fetch op (not an exported inference program)")
    return ProgramInfo("legacy", tuple(op for op, *_ in ops), tuple(feeds[c] for c in sorted(feeds)),
                       tuple(fetches[c] for c in sorted(fetches)), tuple(sorted(parameters, key=lambda t: t.name)))


# ---------------------------------------------------------------------------------------- PIR programs
_PIR_DTYPES = {"0.t_f32": "float32", "0.t_f64": "float64", "0.t_f16": "float16", "0.t_bf16": "bfloat16",
               "0.t_i64": "int64", "0.t_i32": "int32", "0.t_i8": "int8", "0.t_ui8": "uint8", "0.t_bool": "bool",
               "0.t_i16": "int16"}


def _pir_attr(op: dict, name: str):
    for attr in op.get("A", []) if isinstance(op.get("A"), list) else []:
        if isinstance(attr, dict) and attr.get("N") == name and isinstance(attr.get("AT"), dict):
            return attr["AT"].get("D")
    return None


def _pir_tensor(op: dict) -> tuple[str, tuple[int, ...]] | None:
    """(dtype, dims) of an op's single dense-tensor result, if it has one."""
    out = op.get("O")
    out = out[0] if isinstance(out, list) and out else out
    try:
        desc = out["TT"]["D"]
        dims = tuple(int(d) for d in desc[1])
        return _PIR_DTYPES.get(desc[0]["#"], "?"), dims
    except (KeyError, TypeError, IndexError, ValueError):
        return None


def vet_pir_program(data: bytes, where: str) -> ProgramInfo:
    """Vet a PIR program (.json); ModelError (one line) if refused."""
    if len(data) > MAX_PROGRAM_BYTES:
        raise _refuse(where, f"{len(data):,} bytes is more than any digit classifier's program")
    try:
        document = json.loads(data)
        regions = document["program"]["regions"]
        if not (isinstance(regions, list) and len(regions) == 1 and len(regions[0]["blocks"]) == 1):
            raise _refuse(where, "does not hold exactly one region with one block (control flow?)")
        ops = regions[0]["blocks"][0]["ops"]
        if not isinstance(ops, list) or not all(isinstance(op, dict) and isinstance(op.get("#"), str) for op in ops):
            raise TypeError("ops")
    except ModelError:
        raise
    except (ValueError, RecursionError, KeyError, TypeError, IndexError, AttributeError):
        raise _refuse(where, "not a PIR program (.json), or a damaged one") from None
    if len(ops) > MAX_OPS:
        raise _refuse(where, f"has more than {MAX_OPS} ops")
    names, refused, feeds, fetches, parameters = [], [], [], [], []
    for op in ops:
        full = op["#"]
        name = "parameter" if full == "p" else full.split(".", 1)[-1]
        dialect = "0" if full == "p" else full.split(".", 1)[0]
        if dialect not in ("0", "1") or name not in PIR_OPS or op.get("regions"):
            refused.append(full)
            continue
        names.append(name)
        if name == "parameter":
            attrs = op.get("A")
            pname = attrs[-1] if isinstance(attrs, list) and attrs else None
            tensor = _pir_tensor(op)
            if not isinstance(pname, str) or not _plain_parameter_name(pname) or tensor is None:
                raise _refuse(where, f"parameter {pname!r} is not a plain name or has no shape")
            if any(d < 1 for d in tensor[1]) or math.prod(tensor[1]) > MAX_TENSOR_ELEMENTS:
                raise _refuse(where, f"parameter {pname!r} has shape {list(tensor[1])}")
            parameters.append(Tensor(pname, *tensor))
        elif name == "data":
            shape = _pir_attr(op, "shape")
            feed_name = _pir_attr(op, "name")
            if not isinstance(feed_name, str) or not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
                raise _refuse(where, "has a malformed data (input) op")
            feeds.append(Tensor(feed_name, str(_pir_attr(op, "dtype")), tuple(shape)))
        elif name == "fetch":
            fetches.append(str(_pir_attr(op, "name")))
    if refused:
        refused = sorted(set(refused))
        raise _refuse(where, f"contains op{'s' if len(refused) > 1 else ''} {', '.join(map(repr, refused))}, "
                             "which a digit classifier does not use (only the ops in legacy_mnist.exported.model_vetting."
                             "ALLOWED_OPS may run)")
    if not feeds or not fetches:
        raise _refuse(where, "has no data or no fetch op (not an exported inference program)")
    return ProgramInfo("pir", tuple(names), tuple(feeds), tuple(fetches),
                       tuple(sorted(parameters, key=lambda t: t.name)))


# ------------------------------------------------------------------------------------------------ ONNX
def _onnx_tensor_is_external(data: bytes) -> bool:
    for number, kind, value in wire.fields(data):
        if number == 14 and kind == wire.VARINT and value == 1:  # data_location EXTERNAL
            return True
        if number == 13 and kind == wire.LENGTH:  # external_data entries
            return True
    return False


def _onnx_graph(data: bytes, where: str, ops: list, feeds: list) -> None:
    initializers = set()
    inputs = []
    for number, kind, value in wire.fields(data):
        if kind != wire.LENGTH:
            continue
        if number == 1:  # NodeProto
            op_type, domain = "", ""
            for inner, inner_kind, inner_value in wire.fields(value):
                if inner == 4:
                    op_type = wire.text(inner_value, "an ONNX op type")
                elif inner == 7:
                    domain = wire.text(inner_value, "an ONNX domain")
                elif inner == 5 and inner_kind == wire.LENGTH:  # attributes: no subgraphs, no external tensors
                    for attr_field, attr_kind, attr_value in wire.fields(inner_value):
                        if attr_field in (6, 11) and attr_kind == wire.LENGTH:
                            raise _refuse(where, "has a node with a subgraph (control flow)")
                        if attr_field in (5, 10) and attr_kind == wire.LENGTH and _onnx_tensor_is_external(attr_value):
                            raise _refuse(where, "has a tensor stored in an external file")
            ops.append(op_type if domain in ("", "ai.onnx") else f"{domain}.{op_type}")
        elif number in (5, 15):  # initializers, sparse initializers
            if _onnx_tensor_is_external(value):
                raise _refuse(where, "has a weight stored in an external file (ONNX external data)")
            for inner, _, inner_value in wire.fields(value):
                if inner == 8:
                    initializers.add(wire.text(inner_value, "a tensor name"))
        elif number == 11:  # ValueInfoProto of an input
            name, dims = "", []
            for inner, _, inner_value in wire.fields(value):
                if inner == 1:
                    name = wire.text(inner_value, "an input name")
                elif inner == 2 and isinstance(inner_value, bytes):
                    dims = _onnx_dims(inner_value)
            inputs.append(Tensor(name, "float32", tuple(dims)))
    feeds += [t for t in inputs if t.name not in initializers]


def _onnx_dims(type_proto: bytes) -> list[int]:
    """Dims of a TypeProto's tensor shape; -1 where a dimension is symbolic."""
    for number, _, value in wire.fields(type_proto):
        if number == 1 and isinstance(value, bytes):  # tensor_type
            for inner, _, inner_value in wire.fields(value):
                if inner == 2 and isinstance(inner_value, bytes):  # shape
                    dims = []
                    for dim_field, _, dim in wire.fields(inner_value):
                        if dim_field == 1 and isinstance(dim, bytes):
                            size = -1
                            for f, k, v in wire.fields(dim):
                                if f == 1 and k == wire.VARINT:
                                    size = wire.signed64(v)
                            dims.append(size)
                    return dims
    return []


def vet_onnx_model(data: bytes, where: str) -> ProgramInfo:
    """Vet an ONNX model: standard-domain ops of the allow-list only, no external data, no subgraphs."""
    if len(data) > 1 << 30:
        raise _refuse(where, "more than 1 GiB, more than any digit classifier")
    ops, feeds, graphs = [], [], 0
    try:
        for number, kind, value in wire.fields(data):
            if number == 7 and kind == wire.LENGTH:
                graphs += 1
                _onnx_graph(value, where, ops, feeds)
            elif number == 25 and kind == wire.LENGTH:
                raise _refuse(where, "defines functions of its own")
    except wire.WireError as exc:
        raise _refuse(where, f"not an ONNX model, or a damaged one ({exc})") from None
    if graphs != 1:
        raise _refuse(where, "not an ONNX model (no graph)")
    refused = sorted({op for op in ops if op not in ONNX_OPS})
    if refused:
        raise _refuse(where, f"contains ONNX op{'s' if len(refused) > 1 else ''} {', '.join(map(repr, refused))}, "
                             "which a digit classifier does not use (only the ops in legacy_mnist.exported.model_vetting."
                             "ALLOWED_OPS may run)")
    return ProgramInfo("onnx", tuple(ops), tuple(feeds), ())


def vet_program(data: bytes, fmt: str, where: str) -> ProgramInfo:
    """Vet a program of format 'legacy', 'pir' or 'onnx'; ModelError (one line, naming `where`) if refused."""
    vet = {"legacy": vet_legacy_program, "pir": vet_pir_program, "onnx": vet_onnx_model}[fmt]
    return vet(data, where)


def main(argv: Sequence[str] | None = None) -> int:
    """Vet each program file named; one line each; exit 2 if any is refused."""
    from pathlib import Path

    from ..errors import ArgumentParser, EXIT_USAGE
    from ..common.untrusted import read_regular

    parser = ArgumentParser(prog="python -m legacy_mnist.exported.model_vetting",
                            description="Vet program files (.pdmodel, __model__, .json, .onnx) against the op allow-list.")
    parser.add_argument("program", nargs="+", help="program files to vet")
    args = parser.parse_args(argv)
    refused = 0
    for name in args.program:
        path = Path(name)
        fmt = {".json": "pir", ".onnx": "onnx"}.get(path.suffix.lower(), "legacy")
        try:
            info = vet_program(read_regular(path, MAX_PROGRAM_BYTES, ModelError, "program"), fmt, str(path))
        except ModelError as exc:
            print(f"error: {exc}", file=sys.stderr)
            refused += 1
            continue
        batch = f"fixed batch {info.fixed_batch}" if info.fixed_batch else "any batch size"
        print(f"{path}: ok ({len(info.op_types)} ops of {len(set(info.op_types))} allowed types, "
              f"inputs {[t.name for t in info.feeds]}, {batch})")
    return EXIT_USAGE if refused else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
