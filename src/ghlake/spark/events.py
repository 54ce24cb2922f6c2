"""The events topic as a typed Spark stream, normalized exactly as the lake writer does.

Each Kafka record (value, provenance headers, partition, offset) goes through
``ghlake.events.normalize`` (``mapInArrow``) into the lake's file columns: the typed
event of ``events/schema.py`` in the lake's Delta types (:func:`ghlake.lake.schema.delta_type`:
``UInt64`` as ``decimal(20,0)``, so a cityHash64 key above 2^63 is kept exactly), the Kafka
partition and offset, and the line. One schema: Spark's is derived from it, not copied.

:func:`each_event_once` writes such a stream to a Delta table the way ghlake's lake holds
events: once per identity ``(event_key, created_at)``. The topic can hold an event twice
(an hour replayed again with ``--force``); each micro-batch is merged into the table
(insert when the identity is absent), which also makes a batch that Spark runs again
after a crash a no-op. No streaming state grows with the topic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.streaming import DataStreamWriter
from pyspark.sql.types import StructType

from ghlake.events.normalize import EventTableBuilder, MalformedEventError, file_time_seconds
from ghlake.lake.schema import FILE_SCHEMA, LAKE_FIELDS, PARTITION_COLUMN

if TYPE_CHECKING:
    # Not at run time: Spark's Python workers import this module for normalize_batches,
    # and the Platform would bring all of ghlake's clients along (5 s of CPU per worker).
    from ghlake.platform import Platform

__all__ = [
    "EVENT_ROWS",
    "IDENTITY",
    "each_event_once",
    "event_struct",
    "kafka_events",
    "merge_new_events",
    "normalize_batches",
    "typed_events",
]

EVENT_ROWS: pa.Schema = FILE_SCHEMA.append(pa.field(PARTITION_COLUMN, pa.string(), False))
"""The rows of the typed stream: the lake's file columns and its partition column."""

IDENTITY = ("event_key", "created_at")
"""An event's identity in the lake (:class:`ghlake.events.identity.EventIdentity`)."""


def event_struct() -> StructType:
    """Spark's schema of the typed stream, derived from :data:`EVENT_ROWS`."""
    return from_arrow_schema(EVENT_ROWS)


def kafka_events(
    spark: SparkSession,
    platform: Platform,
    *,
    starting_offsets: str = "earliest",
    max_offsets_per_trigger: int | None = None,
) -> DataFrame:
    """The events topic as a stream of raw Kafka records (with headers)."""
    kafka = platform.settings.kafka
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka.bootstrap)
        .option("subscribe", kafka.topic)
        .option("startingOffsets", starting_offsets)
        .option("includeHeaders", "true")
        .option("failOnDataLoss", "false")  # retention may have removed the oldest records
    )
    if max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def typed_events(records: DataFrame) -> DataFrame:
    """Kafka records to typed events (malformed lines, which the lake dead-letters, dropped)."""
    columns = records.select("value", "headers", "partition", "offset")
    return columns.mapInArrow(normalize_batches, event_struct())


def _header(headers: list[dict[str, object]] | None, name: str) -> bytes:
    for header in headers or []:
        if header["key"] == name:
            value = header["value"]
            return value if isinstance(value, bytes) else b""
    return b""


def normalize_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Kafka records (value, headers, partition, offset) to :data:`EVENT_ROWS`."""
    for batch in batches:
        builder = EventTableBuilder(LAKE_FIELDS)
        times: dict[bytes, int] = {}
        rows = zip(
            batch.column("value").to_pylist(), batch.column("headers").to_pylist(),
            batch.column("partition").to_pylist(), batch.column("offset").to_pylist(),
            strict=True,
        )  # fmt: skip
        for value, headers, partition, offset in rows:
            raw_time = _header(headers, "file_time")
            if raw_time not in times:
                times[raw_time] = file_time_seconds(raw_time)
            try:
                builder.append(
                    value, source=_header(headers, "source").decode(),
                    source_hour=_header(headers, "hour").decode(), file_time=times[raw_time],
                    extra=(partition, offset, value),
                )  # fmt: skip
            except MalformedEventError:
                continue
        table = builder.table()
        columns = [table.column(f.name).cast(f.type) for f in FILE_SCHEMA]
        columns.append(pc.strftime(table.column("created_at"), "%Y-%m-%d"))
        yield from pa.Table.from_arrays(columns, schema=EVENT_ROWS).to_batches()


def merge_new_events(batch: DataFrame, url: str) -> None:
    """Add to the Delta table at ``url`` the events of ``batch`` whose identity it lacks."""
    spark = batch.sparkSession
    new = batch.dropDuplicates(list(IDENTITY))
    if not DeltaTable.isDeltaTable(spark, url):
        new.write.format("delta").partitionBy(PARTITION_COLUMN).mode("append").save(url)
        return
    # The partition column first: the merge reads only the event dates of the batch.
    same = " AND ".join(f"t.{c} = s.{c}" for c in (PARTITION_COLUMN, *IDENTITY))
    target = DeltaTable.forPath(spark, url).alias("t")
    target.merge(new.alias("s"), same).whenNotMatchedInsertAll().execute()


def each_event_once(events: DataFrame, url: str) -> DataStreamWriter:
    """A writer of the typed stream ``events`` into the Delta table at ``url``, once per event."""
    return events.writeStream.foreachBatch(lambda batch, _id: merge_new_events(batch, url))
