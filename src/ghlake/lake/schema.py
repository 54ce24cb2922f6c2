"""The lake's Delta table schema, its layout and its properties.

Layout (documented in minio/README.md)::

    s3://<bucket>/<lake.table>/_delta_log/...              the table's log
    s3://<bucket>/<lake.table>/event_date=YYYY-MM-DD/
        h<HH>-<topic>-p<partition>-<first>-<last>-<nonce>.parquet
    s3://<bucket>/_checkpoints/<lake.table>/<topic>/p<partition>/dead-letters.json

**Types.** The typed event (:data:`ghlake.events.schema.EVENT_SCHEMA`) holds
unsigned integers, which Delta lacks (its integers are byte, short, integer,
long, all signed), and delta-rs refuses a UInt64 above 2^63. Each unsigned
column takes the next signed type that holds all its values: UInt8 -> short,
UInt32 -> long, and UInt64 -> ``decimal(20,0)``, which holds 0..2^64-1 exactly.
The event key (``event_key``, cityHash64 of the line for id-less events) is a
full 64-bit value: as ``decimal(20,0)`` it is the same number in the lake, in
the warehouse (``UInt64``; ``toUInt64()`` of the decimal) and in Spark
(``DecimalType(20,0)``, which Spark compares and joins by value), so no reader
needs to be told how to compare reinterpreted bits. The cast costs about 35 ns
a row per column (measured in the writer: 7 ms for 200k keys). Timestamps are
Delta ``timestamp`` (microseconds, UTC): GH Archive times have whole seconds.

**Partitioning.** By ``event_date`` (the UTC date of ``created_at``) only:
an event hour is a few MB, too small to be a partition of its own, and each
writer file already holds one (Kafka partition, event hour), so a reader of one
hour prunes files by their ``created_at`` statistics; compaction then merges a
closed date into files of ``delta.targetFileSize``.

**Properties** (:data:`TABLE_PROPERTIES`): a checkpoint every 100 commits (a
worker commits every few seconds: a new reader replays at most 100 JSON
commits); the log kept 30 days and removed files 7 days (time travel that far;
vacuum never removes what a reader of a week-old version needs);
statistics on the columns readers filter on (``created_at``, ``source_hour``,
``event_key``) wherever they sit in the schema; 128 MB target files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from ghlake.events.schema import EVENT_SCHEMA

__all__ = [
    "FILE_SCHEMA",
    "LAKE_FIELDS",
    "LAKE_SCHEMA",
    "PARQUET_OPTIONS",
    "PARTITION_COLUMN",
    "SOURCE_HOURS_KEY",
    "TABLE_PROPERTIES",
    "TABLE_SCHEMA",
    "UINT64_TYPE",
    "checkpoint_prefix",
    "data_file_path",
    "delta_type",
]

LAKE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("kafka_partition", pa.int32(), nullable=False, metadata={"clickhouse": "UInt16"}),
    pa.field("kafka_offset", pa.int64(), nullable=False, metadata={"clickhouse": "UInt64"}),
    # The original line, byte for byte (the GH Archive mirror serves it; anything the
    # typed columns lack can be derived from it again).
    pa.field("raw", pa.large_binary(), nullable=False, metadata={"clickhouse": "String"}),
)
"""The lake's columns after the typed event: where on the topic it was read, and the line."""

LAKE_SCHEMA: pa.Schema = pa.schema([*EVENT_SCHEMA, *LAKE_FIELDS], metadata=EVENT_SCHEMA.metadata)
"""The rows the writer builds: the typed event (unsigned types), topic position, the line."""

UINT64_TYPE = pa.decimal128(20, 0)
"""How a UInt64 is stored in the table: exactly, as a 20-digit decimal."""

_SIGNED = {
    pa.uint8(): pa.int16(),
    pa.uint16(): pa.int32(),
    pa.uint32(): pa.int64(),
    pa.uint64(): UINT64_TYPE,
}


def delta_type(arrow: pa.DataType) -> pa.DataType:
    """The type a column of ``arrow`` type has in the Delta table."""
    if arrow in _SIGNED:
        return _SIGNED[arrow]
    if pa.types.is_timestamp(arrow):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_large_binary(arrow):
        return pa.binary()
    return arrow


FILE_SCHEMA: pa.Schema = pa.schema(
    [f.with_type(delta_type(f.type)) for f in LAKE_SCHEMA], metadata=LAKE_SCHEMA.metadata
)
"""What every data file holds: :data:`LAKE_SCHEMA` in Delta's types."""

PARTITION_COLUMN = "event_date"

_LARGE_TEXT = frozenset({"raw", "body", "diff_hunk"})


def _few_values(field: pa.Field) -> bool:
    kind = (field.metadata or {}).get(b"clickhouse", b"")
    return b"LowCardinality" in kind or b"Enum" in kind


PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    # Dictionaries where ClickHouse has LowCardinality or an Enum: elsewhere (ids, shas,
    # titles, the line) nearly every value is new, and the writer tries and drops one.
    "use_dictionary": [f.name for f in FILE_SCHEMA if _few_values(f)],
    # No min/max of whole lines and bodies: no reader filters on them (~6% of the encoding).
    "write_statistics": [name for name in FILE_SCHEMA.names if name not in _LARGE_TEXT],
}  # fmt: skip
"""How data files are encoded (the writer, ``lake convert``): measured on 2015-01-01-1,
10.2 -> 9.5 µs an event, 414 -> 404 bytes an event."""

TABLE_SCHEMA: pa.Schema = FILE_SCHEMA.append(pa.field(PARTITION_COLUMN, pa.string(), False))
"""The table: the file columns and the partition column (in the path, not in files)."""

TABLE_PROPERTIES: dict[str, str] = {
    "delta.checkpointInterval": "100",
    "delta.logRetentionDuration": "interval 30 days",
    "delta.deletedFileRetentionDuration": "interval 7 days",
    "delta.dataSkippingStatsColumns": "created_at,source_hour,event_key,kafka_partition",
    "delta.targetFileSize": str(128 * 1024 * 1024),
    "delta.appendOnly": "false",  # compaction removes files
}
"""The table's properties, set when it is created (reasons in this module's docstring)."""

SOURCE_HOURS_KEY = "ghlake.source_hours"
"""Commit metadata (and file footer) key: JSON, the event count per source hour."""


def data_file_path(
    hour_start: datetime, *, topic: str, partition: int, first: int, last: int, nonce: str
) -> str:
    """A writer file's path in the table: one partition's offset range within one event hour.

    ``nonce`` makes each attempt's name its own: a file of an attempt that never
    committed (an orphan, which vacuum removes) is never overwritten by another.
    """
    return (
        f"{PARTITION_COLUMN}={hour_start:%Y-%m-%d}/h{hour_start:%H}-"
        f"{topic}-p{partition:03d}-{first:020d}-{last:020d}-{nonce}.parquet"
    )


def checkpoint_prefix(table: str, topic: str, partition: int) -> str:
    """Where the dead-letter marks of one Kafka partition live (outside the table)."""
    return f"_checkpoints/{table}/{topic}/p{partition:03d}"
