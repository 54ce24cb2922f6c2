"""The lake's Parquet schema and its Hive-style layout.

Layout (documented in minio/README.md)::

    s3://<bucket>/<prefix>/event_date=YYYY-MM-DD/event_hour=HH/
        <topic>-p<partition>-<first offset>-<last offset>.parquet
    s3://<bucket>/_checkpoints/<prefix>/<topic>/p<partition>/{state,intent}.json

A data file holds the events of one Kafka partition's offset range that fall
in that hour, in the typed schema (:data:`ghlake.events.schema.EVENT_SCHEMA`)
plus the Kafka partition and offset of each row and its original line. The name depends only on the
range, so rewriting a batch replaces the same objects. The checkpoint objects
(see :mod:`ghlake.lake.checkpoint`) make a batch whose offsets were not
committed either complete or absent; they live outside the data prefix so
that readers of ``<prefix>/`` see Parquet files only.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from ghlake.events.schema import EVENT_SCHEMA

__all__ = [
    "LAKE_FIELDS",
    "LAKE_SCHEMA",
    "SOURCE_HOURS_KEY",
    "checkpoint_prefix",
    "object_key",
    "partition_path",
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
"""What every lake file holds: the typed event, where on the topic it was read, the line."""

SOURCE_HOURS_KEY = "ghlake.source_hours"
"""Footer key-value metadata of a lake file: JSON, its event count per source hour."""


def partition_path(prefix: str, created_at: datetime) -> str:
    """The Hive-style folder of an event created at ``created_at`` (UTC)."""
    return f"{prefix}/event_date={created_at:%Y-%m-%d}/event_hour={created_at:%H}"


def object_key(
    prefix: str, hour_start: datetime, *, topic: str, partition: int, first: int, last: int
) -> str:
    """The object name of one partition's offset range within one hour folder."""
    return (
        f"{partition_path(prefix, hour_start)}/"
        f"{topic}-p{partition:03d}-{first:020d}-{last:020d}.parquet"
    )


def checkpoint_prefix(prefix: str, topic: str, partition: int) -> str:
    """Where the checkpoint objects of one Kafka partition live."""
    return f"_checkpoints/{prefix}/{topic}/p{partition:03d}"
