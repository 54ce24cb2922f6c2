"""ClickHouse's compressed-block framing (``compress=1`` / ``decompress=1`` over HTTP).

The JDBC driver (and so Metabase) asks for it by default. A body is a sequence of
blocks, each::

    checksum    16 bytes  CityHash128 (v1.0.2) of everything after it, two uint64 LE
    method       1 byte   0x82 LZ4, 0x90 ZSTD, 0x02 none
    compressed   4 bytes  UInt32 LE, the size of method + sizes + payload (header included)
    plain        4 bytes  UInt32 LE, the size once decompressed
    payload               an LZ4 block (no frame) or a zstd frame, or the bytes as they are

Blocks of the answer hold up to 1 MiB of plain bytes each, as ClickHouse writes them.
"""

from __future__ import annotations

import struct

import cramjam
from clickhouse_cityhash.cityhash import CityHash128

from ghlake.warehouse.wire import ClickHouseError

__all__ = ["BLOCK_BYTES", "LZ4", "NONE", "ZSTD", "compress_blocks", "decompress_blocks"]

LZ4, ZSTD, NONE = 0x82, 0x90, 0x02
BLOCK_BYTES = 1024 * 1024
_HEADER = struct.Struct("<BII")
_MAX_BLOCK = 1024**3


def _checksum(data: bytes) -> bytes:
    # clickhouse_cityhash returns CityHash's (first, second) as first << 64 | second;
    # ClickHouse writes first, then second, each little-endian.
    value: int = CityHash128(data)
    return (value >> 64).to_bytes(8, "little") + (value & (2**64 - 1)).to_bytes(8, "little")


def compress_blocks(data: bytes, method: int = LZ4) -> bytes:
    """``data`` framed in compressed blocks (LZ4 unless ``method`` says otherwise)."""
    parts: list[bytes] = []
    view = memoryview(data)
    for start in range(0, max(len(data), 1), BLOCK_BYTES):
        plain = view[start : start + BLOCK_BYTES]
        if method == LZ4:
            payload = bytes(cramjam.lz4.compress_block(plain, store_size=False))
        elif method == ZSTD:
            payload = bytes(cramjam.zstd.compress(plain))
        else:
            payload = bytes(plain)
        block = _HEADER.pack(method, _HEADER.size + len(payload), len(plain)) + payload
        parts += (_checksum(block), block)
    return b"".join(parts)


def decompress_blocks(data: bytes, *, verify: bool = True) -> bytes:
    """The plain bytes of a body framed in compressed blocks; a ClickHouse error if broken."""
    out = bytearray()
    view = memoryview(data)
    at = 0
    while at < len(data):
        if len(data) - at < 16 + _HEADER.size:
            raise ClickHouseError.named("CANNOT_DECOMPRESS", "truncated compressed block header")
        checksum = bytes(view[at : at + 16])
        method, compressed, plain = _HEADER.unpack_from(data, at + 16)
        if compressed < _HEADER.size or compressed > _MAX_BLOCK or plain > _MAX_BLOCK:
            raise ClickHouseError.named(
                "TOO_LARGE_SIZE_COMPRESSED",
                f"Too large size_compressed_without_checksum: {compressed}",
            )
        block = bytes(view[at + 16 : at + 16 + compressed])
        if len(block) < compressed:
            raise ClickHouseError.named("CANNOT_DECOMPRESS", "truncated compressed block")
        if verify and _checksum(block) != checksum:
            raise ClickHouseError.named(
                "CHECKSUM_DOESNT_MATCH", "Checksum doesn't match: corrupted data"
            )
        out += _decompress(method, block[_HEADER.size :], plain)
        at += 16 + compressed
    return bytes(out)


def _decompress(method: int, payload: bytes, plain: int) -> bytes:
    try:
        if method == LZ4:
            result = bytes(cramjam.lz4.decompress_block(payload, output_len=plain))
        elif method == ZSTD:
            result = bytes(cramjam.zstd.decompress(payload))
        elif method == NONE:
            result = payload
        else:
            raise ClickHouseError.named(
                "UNKNOWN_COMPRESSION_METHOD", f"Unknown compression method: {method:#x}"
            )
    except cramjam.DecompressionError as exc:
        raise ClickHouseError.named("CANNOT_DECOMPRESS", f"Cannot decompress: {exc}") from exc
    if len(result) != plain:
        raise ClickHouseError.named("CANNOT_DECOMPRESS", "decompressed size does not match")
    return result
