"""Read protobuf messages field by field in pure Python, strictly: a model from a stranger is parsed here first.

Not run directly; `legacy_mnist.exported.model_vetting` reads Paddle's ProgramDesc and ONNX's ModelProto with it,
and `legacy_mnist.exported.model_files` reads the tensor headers of `.pdiparams` files. Paddle's and ONNX Runtime's
C++ parsers can crash the process on crafted input; this one can only raise `WireError`.
"""
from __future__ import annotations

import struct
from typing import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
MAX_FIELD = (1 << 29) - 1


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the varint at `pos`; at most 10 bytes, as protobuf allows."""
    value = shift = 0
    for _ in range(10):
        if pos >= len(data):
            raise WireError("message ends inside a number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & ((1 << 64) - 1), pos
        shift += 7
    raise WireError("a number longer than 10 bytes")


def signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def signed32(value: int) -> int:
    """int32 fields are sign-extended to 64 bits on the wire; anything else out of range is damage."""
    value = signed64(value)
    if not -(1 << 31) <= value < 1 << 31:
        raise WireError(f"int32 field holds {value}")
    return value


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field: an int for varints/fixed, bytes for LENGTH."""
    pos = 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if not 1 <= number <= MAX_FIELD:
            raise WireError(f"field number {number}")
        if wire == VARINT:
            value, pos = varint(data, pos)
        elif wire == LENGTH:
            length, pos = varint(data, pos)
            if length > len(data) - pos:
                raise WireError(f"field {number} runs past the end of its message")
            value, pos = data[pos : pos + length], pos + length
        elif wire == FIXED32:
            if pos + 4 > len(data):
                raise WireError("message ends inside a 32-bit field")
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        elif wire == FIXED64:
            if pos + 8 > len(data):
                raise WireError("message ends inside a 64-bit field")
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        else:
            raise WireError(f"wire type {wire} (groups are not used by these formats)")
        yield number, wire, value


def packed_varints(chunk: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(chunk):
        value, pos = varint(chunk, pos)
        out.append(value)
    return out


def repeated_varints(wire: int, value) -> list[int]:
    """A repeated integer field's values from one occurrence (packed or not)."""
    if wire == VARINT:
        return [value]
    if wire == LENGTH:
        return packed_varints(value)
    raise WireError(f"an integer list with wire type {wire}")


def repeated_fixed(wire: int, value, size: int) -> list[float]:
    """A repeated float (size 4) or double (size 8) field's values from one occurrence."""
    fmt = "<f" if size == 4 else "<d"
    if wire == (FIXED32 if size == 4 else FIXED64):
        return [struct.unpack(fmt, value.to_bytes(size, "little"))[0]]
    if wire == LENGTH:
        if len(value) % size:
            raise WireError("a packed float list of odd length")
        return [struct.unpack_from(fmt, value, i)[0] for i in range(0, len(value), size)]
    raise WireError(f"a float list with wire type {wire}")


def text(value, what: str) -> str:
    if not isinstance(value, bytes):
        raise WireError(f"{what} is not a string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError(f"{what} is not UTF-8") from None
