"""ClickHouse's Native format for a client protocol revision (``client_protocol_version``).

Over HTTP, clients that read Native as the TCP protocol does (clickhouse-go, and so
Grafana's ClickHouse data source) send ``client_protocol_version=N`` and expect blocks
laid out for revision N: each block starts with its BlockInfo, and (N >= 54454) every
column's type is followed by a "custom serialization" flag. chDB writes Native for
revision 0 (neither), so :func:`for_revision` rewrites its blocks: it walks each column's
data to find where the next column starts (:func:`_skip`) and copies the bytes around
the two insertions unchanged. Types whose layout it does not know (JSON, Dynamic,
Variant, AggregateFunction ...) are refused with NOT_IMPLEMENTED.
"""

from __future__ import annotations

import re
import struct

from ghlake.warehouse.wire import ClickHouseError

__all__ = ["CUSTOM_SERIALIZATION_REVISION", "for_revision"]

CUSTOM_SERIALIZATION_REVISION = 54454
# BlockInfo: field 1 is_overflows (false), field 2 bucket_num (-1), end.
_BLOCK_INFO = b"\x01\x00\x02" + struct.pack("<i", -1) + b"\x00"

_FIXED = {
    "UInt8": 1, "Int8": 1, "Bool": 1, "UInt16": 2, "Int16": 2, "Date": 2, "BFloat16": 2,
    "UInt32": 4, "Int32": 4, "Float32": 4, "Date32": 4, "DateTime": 4, "IPv4": 4,
    "Decimal32": 4, "UInt64": 8, "Int64": 8, "Float64": 8, "DateTime64": 8, "Decimal64": 8,
    "UInt128": 16, "Int128": 16, "Decimal128": 16, "UUID": 16, "IPv6": 16,
    "UInt256": 32, "Int256": 32, "Decimal256": 32, "Enum8": 1, "Enum16": 2, "Nothing": 1,
}  # fmt: skip
_LC_KEY_BYTES = {0: 1, 1: 2, 2: 4, 3: 8}
_NAMED_ELEMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s+(?=[A-Z])")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def string(self) -> bytes:
        size = self.varint()
        value = self.data[self.at : self.at + size]
        self.at += size
        return value

    def uint64(self) -> int:
        (value,) = struct.unpack_from("<Q", self.data, self.at)
        self.at += 8
        return int(value)


def _split(kind: str) -> tuple[str, list[str]]:
    """``Name(arg, arg)`` as its name and top-level arguments."""
    if "(" not in kind:
        return kind, []
    name, inner = kind[: kind.index("(")], kind[kind.index("(") + 1 : kind.rindex(")")]
    args, depth, start, quote = [], 0, 0, False
    for i, char in enumerate(inner):
        if char == "'" and (i == 0 or inner[i - 1] != "\\"):
            quote = not quote
        elif not quote and char == "(":
            depth += 1
        elif not quote and char == ")":
            depth -= 1
        elif not quote and char == "," and depth == 0:
            args.append(inner[start:i].strip())
            start = i + 1
    args.append(inner[start:].strip())
    return name, args


def _skip(reader: _Reader, kind: str, rows: int) -> None:  # noqa: PLR0912 - one branch a type family
    """Move ``reader`` past ``rows`` values of a column of type ``kind`` (bulk layout)."""
    name, args = _split(kind)
    if name in _FIXED:
        reader.at += _FIXED[name] * rows
    elif name == "Decimal":
        precision = int(args[0])
        size = 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32
        reader.at += size * rows
    elif name == "FixedString":
        reader.at += int(args[0]) * rows
    elif name == "String":
        for _ in range(rows):
            size = reader.varint()  # read first: it moves the reader
            reader.at += size
    elif name == "Nullable":
        reader.at += rows
        _skip(reader, args[0], rows)
    elif name in ("Array", "Map"):
        total = 0
        if rows:
            reader.at += 8 * (rows - 1)
            total = reader.uint64()
        for element in args if name == "Map" else args[:1]:
            _skip(reader, element, total)
    elif name == "Tuple":
        for element in args:
            _skip(reader, _NAMED_ELEMENT.sub("", element), rows)
    elif name == "LowCardinality":
        if rows:
            reader.uint64()  # keys serialization version
            flags = reader.uint64()
            if flags & (1 << 9):  # additional keys: the block's dictionary
                inner_name, inner_args = _split(args[0])
                dictionary = inner_args[0] if inner_name == "Nullable" else args[0]
                _skip(reader, dictionary, reader.uint64())
            indexes = reader.uint64()
            reader.at += _LC_KEY_BYTES[flags & 0xFF] * indexes
    elif name in ("SimpleAggregateFunction",):
        _skip(reader, args[-1], rows)
    else:
        raise ClickHouseError.named(
            "NOT_IMPLEMENTED",
            f"Native for client_protocol_version is not served for type {kind[:100]}",
        )


def for_revision(data: bytes, revision: int) -> bytes:
    """chDB's revision-0 Native ``data`` laid out for a client of protocol ``revision``."""
    if revision <= 0:
        return data
    reader = _Reader(data)
    parts: list[bytes] = []
    while reader.at < len(data):
        parts.append(_BLOCK_INFO)
        start = reader.at
        columns, rows = reader.varint(), reader.varint()
        for _ in range(columns):
            reader.string()
            kind = reader.string().decode()
            parts.append(data[start : reader.at])
            if revision >= CUSTOM_SERIALIZATION_REVISION:
                parts.append(b"\x00")
            start = reader.at
            _skip(reader, kind, rows)
        parts.append(data[start : reader.at])
    return b"".join(parts)
