"""Turning a batch of topic records into typed Parquet objects in the lake.

The writer is pure of Kafka: the lake consumer (:mod:`ghlake.lake.consumer`)
hands it records with their partition and offset and commits the offsets only
after the sink has gone through the writer's steps, in this order (the protocol is explained
in :mod:`ghlake.lake.checkpoint`):

1. :meth:`LakeWriter.recover` the batch's partitions (clean up an incomplete
   batch, learn the last offset already stored),
2. :meth:`LakeWriter.prepare` the batch: normalize each record into the typed
   schema, group by partition and event hour, encode zstd Parquet (no I/O),
3. :meth:`LakeWriter.upload` the intents and the objects,
4. (the sink publishes the dead letters),
5. :meth:`LakeWriter.commit` the partitions' checkpoints.

A record that is not an event comes back as a :class:`DeadLetter`; nothing is
dropped silently.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ghlake.events.normalize import (
    CREATED_AT_INDEX,
    SOURCE_HOUR_INDEX,
    EventTableBuilder,
    MalformedEventError,
    file_time_seconds,
    normalize_line,
)
from ghlake.lake.checkpoint import Checkpoints, Intent, Recovery
from ghlake.lake.schema import LAKE_FIELDS, SOURCE_HOURS_KEY, object_key
from ghlake.lake.store import ObjectStore

__all__ = [
    "BatchResult",
    "DeadLetter",
    "LakeWriter",
    "PartitionBatch",
    "PreparedBatch",
    "SourceRecord",
    "WrittenFile",
    "encode_parquet",
]

log = logging.getLogger(__name__)


class SourceRecord(NamedTuple):
    """One message of the events topic (a named tuple: one is built per message)."""

    partition: int
    offset: int
    value: bytes
    headers: Mapping[str, bytes | None]


@dataclass(frozen=True)
class DeadLetter:
    """A record the lake cannot hold, and why."""

    record: SourceRecord
    reason: str


@dataclass(frozen=True)
class WrittenFile:
    """One Parquet object of the lake."""

    key: str
    rows: int
    size: int


@dataclass(frozen=True)
class PartitionBatch:
    """One Kafka partition's share of a batch: its range and its encoded objects."""

    intent: Intent
    files: tuple[WrittenFile, ...]
    data: tuple[bytes, ...]  # the Parquet bytes of each file, in the same order


@dataclass(frozen=True)
class PreparedBatch:
    """A batch normalized and encoded, ready to store."""

    partitions: tuple[PartitionBatch, ...]
    dead_letters: tuple[DeadLetter, ...]
    skipped: int  # records already in the lake (stored before a crash, offsets not committed)

    @property
    def files(self) -> tuple[WrittenFile, ...]:
        """Every object of the batch."""
        return tuple(f for p in self.partitions for f in p.files)


@dataclass(frozen=True)
class BatchResult:
    """What one batch produced."""

    files: tuple[WrittenFile, ...]
    dead_letters: tuple[DeadLetter, ...]
    skipped: int = 0
    removed: int = 0  # objects of an earlier, incomplete batch deleted during recovery

    @property
    def rows(self) -> int:
        """Events written."""
        return sum(f.rows for f in self.files)


def encode_parquet(table: pa.Table) -> bytes:
    """A table as one zstd Parquet object."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


class _ObjectEncoder:
    """One object's rows, encoded into zstd Parquet row groups as they come.

    Only the encoded bytes and one chunk of rows are held, not a whole table: a batch
    of 100k events (with their original lines) would otherwise hold all of them in
    Arrow memory until the end of the batch. The footer gets the object's event count
    per source hour (:data:`SOURCE_HOURS_KEY`), which reconciliation reads alone.
    """

    def __init__(self, chunk_rows: int) -> None:
        self.rows = EventTableBuilder(LAKE_FIELDS, chunk_rows=chunk_rows)
        self.sink = io.BytesIO()
        self.parquet = pq.ParquetWriter(self.sink, self.rows.schema, compression="zstd")
        self.source_hours: Counter[str] = Counter()

    def add(self, row: tuple[object, ...]) -> None:
        self.rows.add_row(row)
        self.source_hours[row[SOURCE_HOUR_INDEX]] += 1
        for batch in self.rows.drain():
            self.parquet.write_batch(batch)

    def finish(self) -> bytes:
        for batch in self.rows.drain(flush=True):
            self.parquet.write_batch(batch)
        self.parquet.add_key_value_metadata(
            {SOURCE_HOURS_KEY: orjson.dumps(dict(sorted(self.source_hours.items()))).decode()}
        )
        self.parquet.close()
        return self.sink.getvalue()


class _Decoded:
    """Header values decoded once per distinct value (they repeat for a whole hour)."""

    def __init__(self) -> None:
        self.text: dict[bytes, str] = {}
        self.time: dict[bytes, int] = {}

    def header(self, record: SourceRecord, name: str) -> str:
        raw = record.headers.get(name) or b""
        value = self.text.get(raw)
        if value is None:
            value = self.text[raw] = raw.decode("utf-8", "replace")
        return value

    def file_time(self, record: SourceRecord) -> int:
        raw = record.headers.get("file_time") or b""
        value = self.time.get(raw)
        if value is None:
            value = self.time[raw] = file_time_seconds(raw)
        return value


class LakeWriter:
    """Writes batches of one topic under ``prefix`` in the store's bucket."""

    def __init__(
        self,
        store: ObjectStore,
        topic: str,
        prefix: str,
        on_object: Callable[[WrittenFile, int], None] | None = None,
        row_group_rows: int = 4096,
    ) -> None:
        self.store = store
        self.topic = topic
        self.prefix = prefix
        self.checkpoints = Checkpoints(store, prefix, topic)
        # Called after each object with its position in the batch (fault injection, tracing).
        self.on_object = on_object
        self.row_group_rows = row_group_rows

    def recover(self, partitions: Iterable[int]) -> dict[int, Recovery]:
        """Clean up incomplete batches of ``partitions``; their last stored offsets."""
        return {p: self.checkpoints.recover(p) for p in sorted(set(partitions))}

    def prepare(self, records: Sequence[SourceRecord], stored: Mapping[int, int]) -> PreparedBatch:
        """Normalize, group and encode ``records``, skipping offsets ``stored`` already."""
        decoded = _Decoded()
        spans: dict[int, list[int]] = {}
        encoders: dict[tuple[int, int], _ObjectEncoder] = {}
        dead: list[DeadLetter] = []
        skipped = 0
        for record in records:
            partition, offset = record.partition, record.offset
            if offset <= stored.get(partition, -1):
                skipped += 1
                continue
            span = spans.get(partition)
            if span is None:
                spans[partition] = [offset, offset]
            elif offset <= span[1]:
                # A partition's records come in offset order; one at or below the last is
                # a redelivery within the batch (the partition moved away and came back).
                skipped += 1
                continue
            else:
                span[1] = offset
            try:
                row = normalize_line(
                    record.value,
                    source=decoded.header(record, "source"),
                    source_hour=decoded.header(record, "hour"),
                    file_time=decoded.file_time(record),
                )
            except MalformedEventError as exc:
                dead.append(DeadLetter(record, exc.reason))
                continue
            hour = row[CREATED_AT_INDEX] // 3600 * 3600
            encoder = encoders.get((partition, hour))
            if encoder is None:
                encoder = encoders[(partition, hour)] = _ObjectEncoder(self.row_group_rows)
            encoder.add((*row, partition, offset, record.value))

        batches = []
        for partition, (first, last) in sorted(spans.items()):
            files, data = [], []
            for (p, hour), encoder in sorted(encoders.items()):
                if p != partition:
                    continue
                key = object_key(
                    self.prefix, datetime.fromtimestamp(hour, UTC),
                    topic=self.topic, partition=partition, first=first, last=last,
                )  # fmt: skip
                encoded = encoder.finish()
                files.append(WrittenFile(key, len(encoder.rows), len(encoded)))
                data.append(encoded)
            intent = Intent(partition, first, last, tuple(f.key for f in files))
            batches.append(PartitionBatch(intent, tuple(files), tuple(data)))
        return PreparedBatch(tuple(batches), tuple(dead), skipped)

    def upload(self, batch: PreparedBatch) -> None:
        """Record each partition's intent, then write its objects (idempotent: same keys)."""
        position = 0
        for part in batch.partitions:
            self.checkpoints.begin(part.intent)
            for file, data in zip(part.files, part.data, strict=True):
                self.store.put(file.key, data)
                if self.on_object is not None:
                    self.on_object(file, position)
                position += 1
                log.info(
                    "lake file written",
                    extra={"key": file.key, "rows": file.rows, "partition": part.intent.partition,
                           "first_offset": part.intent.first, "last_offset": part.intent.last},
                )  # fmt: skip

    def commit(self, batch: PreparedBatch) -> None:
        """Record every partition of ``batch`` as stored, up to its last offset."""
        for part in batch.partitions:
            self.checkpoints.commit(part.intent)

    def write(self, records: Sequence[SourceRecord]) -> BatchResult:
        """Recover, prepare, upload and commit ``records`` in one call (no dead-letter step)."""
        recoveries = self.recover(r.partition for r in records)
        batch = self.prepare(records, {p: r.last_offset for p, r in recoveries.items()})
        self.upload(batch)
        self.commit(batch)
        removed = sum(len(r.removed) for r in recoveries.values())
        return BatchResult(batch.files, batch.dead_letters, batch.skipped, removed)
