"""Serving what ghlake holds as GH Archive files: any time range as gzip NDJSON.

The lake keeps each event's original line, so a range is read back from the
lake's hour partitions (by the event's ``created_at``, in UTC), deduplicated on
the event's identity and streamed as gzip: a GH-Archive-compatible mirror that
any GH Archive tool can point at.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq

from ghlake.hours import Hour, hour_range
from ghlake.lake.schema import partition_path
from ghlake.lake.store import ObjectStore

__all__ = ["gzip_stream", "range_lines"]

_COLUMNS = ["event_id", "created_at", "raw"]


def range_lines(store: ObjectStore, prefix: str, start: datetime, end: datetime) -> Iterator[bytes]:
    """Original lines of the events created in ``[start, end)``, each event once."""
    if end <= start:
        return
    seen: set[tuple[object, ...]] = set()
    last = Hour.containing(end - timedelta(microseconds=1))
    for hour in hour_range(Hour.containing(start), last):
        keys = sorted(info.key for info in store.list(partition_path(prefix, hour.start) + "/"))
        for key in keys:
            if not key.endswith(".parquet"):
                continue
            table = pq.read_table(io.BytesIO(store.get(key)), columns=_COLUMNS)
            created = table.column("created_at")
            mask = pc.and_(pc.greater_equal(created, start), pc.less(created, end))
            table = table.filter(mask)
            ids = table.column("event_id").to_pylist()
            times = table.column("created_at").to_pylist()
            for event_id, moment, raw in zip(
                ids, times, table.column("raw").to_pylist(), strict=True
            ):
                line = raw.encode() if isinstance(raw, str) else raw
                # Timeline-era events have no id: an identical line is the same event.
                identity = (event_id, moment) if event_id else (hashlib.blake2b(line).digest(),)
                if identity in seen:
                    continue
                seen.add(identity)
                yield line


def gzip_stream(lines: Iterator[bytes], level: int = 6) -> Iterator[bytes]:
    """Lines as one gzip member, newline-terminated, in chunks of about 1 MB."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        buffer.append(line)
        buffer.append(b"\n")
        size += len(line) + 1
        if size >= 1 << 20:
            if chunk := compressor.compress(b"".join(buffer)):
                yield chunk
            buffer, size = [], 0
    tail = compressor.compress(b"".join(buffer)) + compressor.flush()
    if tail:
        yield tail
