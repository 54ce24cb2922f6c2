"""The lake's Parquet schema and its Hive-style layout.

Layout (documented in minio/README.md)::

    s3://<bucket>/<prefix>/event_date=YYYY-MM-DD/event_hour=HH/
        <topic>-p<partition>-<first offset>-<last offset>.parquet

A file holds the events of one Kafka partition's offset range that fall in
that hour. The name depends only on the range, so rewriting a batch after a
crash replaces the same objects instead of adding duplicates.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

__all__ = ["LAKE_SCHEMA", "object_key", "partition_path"]

LAKE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.int64(), nullable=True),  # null in the Timeline era
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("actor_login", pa.string(), nullable=False),
        pa.field("repo_name", pa.string(), nullable=False),
        pa.field("repo_id", pa.int64(), nullable=True),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_hour", pa.string(), nullable=False),
        pa.field("kafka_partition", pa.int32(), nullable=False),
        pa.field("kafka_offset", pa.int64(), nullable=False),
        pa.field("raw", pa.large_string(), nullable=False),  # the original line, for re-derivation
    ]
)


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
