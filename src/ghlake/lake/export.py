"""Serving what ghlake holds as GH Archive files: any time range as gzip NDJSON.

The lake keeps each event's original line, so a range is read back from one
snapshot of the Delta table (the latest, or a ``version``: time travel), hour by
hour (by the event's ``created_at``, in UTC), deduplicated on
the event's identity as the lake stores it (:class:`EventIdentity` from the
``event_key`` and ``created_at`` columns, the key the warehouse folds on too)
and streamed as gzip: a GH-Archive-compatible mirror that any GH Archive tool
can point at.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from ghlake.events.identity import EventIdentity
from ghlake.hours import Hour, hour_range
from ghlake.lake.reader import read_event_hour
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import LakeTable

__all__ = ["gzip_stream", "range_lines"]

_COLUMNS = ["event_key", "created_at", "raw"]
_SECONDS = pa.timestamp("s", tz="UTC")


def range_lines(
    table: LakeTable,
    store: ObjectStore,
    start: datetime,
    end: datetime,
    version: int | None = None,
) -> Iterator[bytes]:
    """Original lines of the events created in ``[start, end)``, each event once."""
    if end <= start:
        return
    if version is None:
        version = table.version()  # one snapshot for the whole range
    seen: set[EventIdentity] = set()
    last = Hour.containing(end - timedelta(microseconds=1))
    for hour in hour_range(Hour.containing(start), last):
        for _, found in sorted(
            read_event_hour(table, store, hour.start, _COLUMNS, version), key=lambda t: t[0]
        ):
            created = found.column("created_at")
            mask = pc.and_(
                pc.greater_equal(created, pa.scalar(start, created.type)),
                pc.less(created, pa.scalar(end, created.type)),
            )
            rows = found.filter(mask)
            keys = rows.column("event_key").cast(pa.uint64()).to_pylist()
            # Whole seconds, as EventIdentity holds them (the column has microseconds).
            seconds = rows.column("created_at").cast(_SECONDS, safe=False).cast(pa.int64())
            lines = rows.column("raw").to_pylist()
            for key, second, raw in zip(keys, seconds.to_pylist(), lines, strict=True):
                line = raw.encode() if isinstance(raw, str) else raw
                identity = EventIdentity(key, second)
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
