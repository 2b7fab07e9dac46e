"""v2's model.tar: one tar member per parameter plus its `<name>.protobuf` ParameterConfig.

Not run directly; `Parameters.to_tar(f)` / `Parameters.from_tar(f)` use it. Each parameter member is a
16-byte header struct.pack("IIQ", 0, 4, count) - format version 0, 4-byte floats, the element count - and
the float32 values (paddle/v2/parameters.py, serialize). The `.protobuf` member is a ParameterConfig
(proto/ParameterConfig.proto); we write and read only name (1), size (2) and dims (9), by hand, so no
protobuf classes are needed and a stranger's file can only be parsed, never executed. Files come from
strangers: every length is checked before it is used, and nothing is extracted to disk.
"""
from __future__ import annotations

import io
import math
import struct
import tarfile

import numpy as np

from ..errors import UserError

HEADER = struct.Struct("<IIQ")  # v2 packed it in native order on x86: little-endian
MAX_VALUES = 1 << 28  # 1 GiB of float32 per parameter: far above any v2 model, far below a hostile size field


class ModelFileError(UserError, ValueError):
    """A model.tar that is not a v2 parameter file (one line, naming the member)."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_config(name: str, size: int, dims: tuple) -> bytes:
    """A ParameterConfig message with name, size and dims (non-packed, as proto2 wrote repeated uint64)."""
    raw = name.encode("utf-8")
    out = b"\x0a" + _varint(len(raw)) + raw + b"\x10" + _varint(size)
    return out + b"".join(b"\x48" + _varint(int(d)) for d in dims)


def _read_varint(data: bytes, pos: int, where: str) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ModelFileError(f"{where}: truncated or malformed ParameterConfig")


def decode_config(data: bytes, where: str) -> tuple[str, int, tuple]:
    """(name, size, dims) of a ParameterConfig; the other fields are skipped."""
    name, size, dims, pos = None, None, [], 0
    while pos < len(data):
        key, pos = _read_varint(data, pos, where)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos, where)
            if field == 2:
                size = value
            elif field == 9:
                dims.append(value)
        elif wire == 2:
            length, pos = _read_varint(data, pos, where)
            if pos + length > len(data):
                raise ModelFileError(f"{where}: truncated ParameterConfig")
            chunk, pos = data[pos:pos + length], pos + length
            if field == 1:
                name = chunk.decode("utf-8", "replace")
            elif field == 9:  # packed dims
                inner = 0
                while inner < len(chunk):
                    value, inner = _read_varint(chunk, inner, where)
                    dims.append(value)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ModelFileError(f"{where}: ParameterConfig field {field} has unknown wire type {wire}")
    if name is None or size is None:
        raise ModelFileError(f"{where}: the ParameterConfig has no name or size")
    return name, size, tuple(dims)


def binary(f, mode: str, where: str):
    """The binary stream of `f`: a text-mode file (Python 2's open(path, 'w')) is written through its buffer."""
    if isinstance(f, io.TextIOBase):
        if not hasattr(f, "buffer"):
            raise TypeError(f"{where}: needs a file object, got an in-memory text stream; use io.BytesIO")
        f.flush()
        return f.buffer
    if not hasattr(f, "write" if mode == "w" else "read"):
        raise TypeError(f"{where}: needs a file opened with open(path, '{mode}b'), got {f!r}")
    return f


def write_tar(f, parameters: list[tuple[str, tuple, np.ndarray]]) -> None:
    """(name, v2 shape, values) for each parameter -> a v2 model.tar written to the open file `f`."""
    stream = binary(f, "w", "Parameters.to_tar")
    with tarfile.TarFile(fileobj=stream, mode="w") as tar:  # closing the TarFile leaves `stream` open
        for name, shape, values in parameters:
            flat = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
            _add(tar, name, HEADER.pack(0, 4, flat.size) + flat.tobytes())
            _add(tar, f"{name}.protobuf", encode_config(name, flat.size, shape))
    stream.flush()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name=name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def read_tar(f, where: str = "Parameters.from_tar") -> list[tuple[str, tuple, np.ndarray]]:
    """The parameters of a v2 model.tar: [(name, v2 shape, float32 values)] in the file's order."""
    stream = binary(f, "r", where)
    where = getattr(f, "name", where)
    try:
        tar = tarfile.TarFile(fileobj=stream, mode="r")
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
    except tarfile.TarError as exc:
        raise ModelFileError(f"{where}: not a v2 parameter tar ({exc})") from None
    configs = [m for name, m in members.items() if name.endswith(".protobuf")]
    if not configs:
        raise ModelFileError(f"{where}: no <parameter>.protobuf members: not a v2 parameter tar")
    out = []
    for member in configs:
        name, size, dims = decode_config(_read(tar, member, where, 1 << 20), f"{where}: {member.name}")
        shape = dims if dims else (1, size)
        if size > MAX_VALUES or math.prod(shape) != size:
            raise ModelFileError(f"{where}: {member.name} gives {size} values for dims {list(dims)}")
        values = members.get(name)
        if values is None:
            raise ModelFileError(f"{where}: {member.name} has no parameter member {name!r}")
        data = _read(tar, values, where, HEADER.size + 4 * size)
        version, width, count = HEADER.unpack_from(data) if len(data) >= HEADER.size else (None, None, None)
        if (version, width, count) != (0, 4, size) or len(data) != HEADER.size + 4 * size:
            raise ModelFileError(f"{where}: member {name!r} is not {size} float32 values after v2's 16-byte header")
        out.append((name, shape, np.frombuffer(data, dtype="<f4", offset=HEADER.size).astype(np.float32)
                    .reshape(shape)))
    return out


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, where: str, limit: int) -> bytes:
    if member.size > limit:
        raise ModelFileError(f"{where}: member {member.name!r} is {member.size} bytes, more than it can hold")
    handle = tar.extractfile(member)
    return handle.read() if handle is not None else b""
