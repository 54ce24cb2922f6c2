"""Turning a batch of topic records into data files and one commit of the lake's Delta table.

The writer is pure of Kafka: the lake consumer (:mod:`ghlake.lake.consumer`)
hands it records with their partition and offset and commits the Kafka
offsets only after the sink has gone through the writer's steps, which carry
the numbers of the protocol in :mod:`ghlake.lake.checkpoint`:

1. :meth:`LakeWriter.recover` the batch's partitions (their stored offsets
   from the table's transactions, and any dead-letter mark),
2. :meth:`LakeWriter.prepare` the batch: skip stored offsets, normalize each
   record into the typed schema, drop events the table holds already, group by
   partition and event hour, encode zstd Parquet in the table's types,
3. (the sink writes dead-letter marks), 4. :meth:`LakeWriter.upload` the files,
5. (the sink publishes the dead letters),
6. :meth:`LakeWriter.commit` the files and offsets in one Delta commit.

A record that is not an event comes back as a :class:`DeadLetter`; nothing is
dropped silently (a duplicate is counted in :attr:`PreparedBatch.duplicates`).
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

from ghlake.errors import GhLakeError
from ghlake.events.normalize import (
    CREATED_AT_INDEX,
    SOURCE_HOUR_INDEX,
    EventTableBuilder,
    MalformedEventError,
    file_time_seconds,
    normalize_line,
)
from ghlake.events.schema import EVENT_COLUMNS
from ghlake.kafka.ranges import TopicRecord
from ghlake.lake.checkpoint import DeadLetterMarks
from ghlake.lake.dedup import IdentityIndex, pack
from ghlake.lake.schema import (
    FILE_SCHEMA,
    LAKE_FIELDS,
    PARQUET_OPTIONS,
    PARTITION_COLUMN,
    SOURCE_HOURS_KEY,
    data_file_path,
)
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import DataFile, LakeTable

__all__ = [
    "BatchAbandonedError",
    "BatchResult",
    "DeadLetter",
    "LakeWriter",
    "PartitionBatch",
    "PreparedBatch",
    "Recovery",
    "WrittenFile",
]

log = logging.getLogger(__name__)

_KEY = EVENT_COLUMNS.index("event_key")


class BatchAbandonedError(GhLakeError):
    """The batch must not be written on: its partitions were revoked, or another writer
    committed part of its range (a worker that lost its partitions without knowing)."""


@dataclass(frozen=True)
class DeadLetter:
    """A record the lake cannot hold, and why."""

    record: TopicRecord
    reason: str


@dataclass(frozen=True)
class Recovery:
    """What recovering one partition found (step 1)."""

    partition: int
    last_offset: int  # the table's transaction version; -1 when nothing is stored yet
    interrupted_at: datetime | None = None  # a dead-letter mark: an attempt began then


@dataclass(frozen=True)
class WrittenFile:
    """One data file of a batch."""

    key: str  # the object key in the bucket
    path: str  # the path in the table
    rows: int
    size: int
    event_hour: int  # start of its event hour, in seconds
    stats: str  # Delta statistics (JSON)


@dataclass(frozen=True)
class PartitionBatch:
    """One Kafka partition's share of a batch: its range and its encoded files."""

    partition: int
    first: int
    last: int
    files: tuple[WrittenFile, ...]
    data: tuple[bytes, ...]  # the Parquet bytes of each file, in the same order


@dataclass(frozen=True)
class PreparedBatch:
    """A batch normalized and encoded, ready to store."""

    partitions: tuple[PartitionBatch, ...]
    dead_letters: tuple[DeadLetter, ...]
    skipped: int  # records already in the table (stored before a crash, offsets not committed)
    duplicates: int  # events whose identity the table (or the batch) held already
    source_hours: Mapping[str, int]
    identities: Mapping[int, frozenset[int]] = field(default_factory=dict)  # hour -> packed

    @property
    def files(self) -> tuple[WrittenFile, ...]:
        """Every file of the batch."""
        return tuple(f for p in self.partitions for f in p.files)


@dataclass(frozen=True)
class BatchResult:
    """What one batch produced."""

    files: tuple[WrittenFile, ...]
    dead_letters: tuple[DeadLetter, ...]
    skipped: int = 0
    duplicates: int = 0
    version: int | None = None  # the table version that holds the batch

    @property
    def rows(self) -> int:
        """Events written."""
        return sum(f.rows for f in self.files)


def _date_of(path: str) -> str:
    """The event date of a file path ``event_date=YYYY-MM-DD/...``."""
    return path.split("/", 1)[0].split("=", 1)[1]


def _stamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _FileEncoder:
    """One file's rows, encoded into zstd Parquet row groups as they come.

    Only the encoded bytes and one chunk of rows are held, not a whole table: a batch
    of 100k events (with their original lines) would otherwise hold all of them in
    Arrow memory until the end of the batch. It keeps the Delta statistics of the
    columns readers filter on, and the file's count per source hour.
    """

    def __init__(self, chunk_rows: int, partition: int) -> None:
        self.rows = EventTableBuilder(LAKE_FIELDS, chunk_rows=chunk_rows)
        self.sink = io.BytesIO()
        self.parquet = pq.ParquetWriter(self.sink, FILE_SCHEMA, **PARQUET_OPTIONS)
        self.source_hours: Counter[str] = Counter()
        self.created = [2**63, -1]
        self.partition = partition

    def add(self, row: tuple[object, ...]) -> None:
        if self.rows.add_row(row):  # a chunk of rows became a record batch
            self._write(self.rows.drain())

    def _write(self, batches: Iterable[pa.RecordBatch]) -> None:
        # The file's statistics, per record batch rather than per row (the hot loop).
        for batch in batches:
            hours = pc.value_counts(batch.column(SOURCE_HOUR_INDEX)).to_pylist()
            self.source_hours.update({h["values"]: h["counts"] for h in hours})
            span = pc.min_max(batch.column(CREATED_AT_INDEX))
            low, high = (int(span[end].as_py().timestamp()) for end in ("min", "max"))
            self.created = [min(self.created[0], low), max(self.created[1], high)]
            self.parquet.write_batch(batch.cast(FILE_SCHEMA))

    def finish(self) -> bytes:
        self._write(self.rows.drain(flush=True))
        self.parquet.add_key_value_metadata(
            {SOURCE_HOURS_KEY: orjson.dumps(dict(sorted(self.source_hours.items()))).decode()}
        )
        self.parquet.close()
        return self.sink.getvalue()

    def stats(self) -> str:
        hours = sorted(self.source_hours)
        return orjson.dumps({
            "numRecords": len(self.rows),
            "minValues": {"created_at": _stamp(self.created[0]), "source_hour": hours[0],
                          "kafka_partition": self.partition},
            "maxValues": {"created_at": _stamp(self.created[1]), "source_hour": hours[-1],
                          "kafka_partition": self.partition},
            "nullCount": {"created_at": 0, "source_hour": 0, "kafka_partition": 0},
        }).decode()  # fmt: skip


class _Provenance:
    """Each record's source, source hour and file time, decoded once per distinct header
    triple (it repeats for a whole hour)."""

    def __init__(self) -> None:
        self.decoded: dict[tuple[bytes | None, ...], tuple[str, str, int]] = {}

    def of(self, record: TopicRecord) -> tuple[str, str, int]:
        headers = record.headers
        raw = (headers.get("source"), headers.get("hour"), headers.get("file_time"))
        value = self.decoded.get(raw)
        if value is None:
            source, hour, file_time = (x or b"" for x in raw)
            value = self.decoded[raw] = (
                source.decode("utf-8", "replace"),
                hour.decode("utf-8", "replace"),
                file_time_seconds(file_time),
            )
        return value


class LakeWriter:
    """Writes batches of one topic into the lake's Delta table."""

    def __init__(
        self,
        store: ObjectStore,
        table: LakeTable,
        topic: str,
        *,
        on_object: Callable[[WrittenFile, int], None] | None = None,
        row_group_rows: int = 4096,
        dedup_hours: int = 4,
        before_table_commit: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.table = table
        self.topic = topic
        self.marks = DeadLetterMarks(store, table.prefix, topic)
        self.index = IdentityIndex(table, store, max_hours=dedup_hours)
        # Called after each file with its position in the batch (fault injection, tracing).
        self.on_object = on_object
        # Called once the files are stored, before the commit (fault injection).
        self.before_table_commit = before_table_commit
        self.row_group_rows = row_group_rows
        self.writer_id = f"{socket.gethostname()}:{os.getpid()}"

    def recover(self, partitions: Iterable[int]) -> dict[int, Recovery]:
        """Step 1: each partition's stored offset (the table's txn) and dead-letter mark."""
        ordered = sorted(set(partitions))
        stored = self.table.offsets(self.topic, ordered)
        return {p: Recovery(p, stored[p], self.marks.pending(p)) for p in ordered}

    def prepare(self, records: Sequence[TopicRecord], stored: Mapping[int, int]) -> PreparedBatch:
        """Step 2: skip ``stored`` offsets, normalize, drop known identities, encode."""
        provenance = _Provenance()
        spans: dict[int, list[int]] = {}
        encoders: dict[tuple[int, int], _FileEncoder] = {}
        dead: list[DeadLetter] = []
        known: dict[int, set[int]] = {}
        added: dict[int, set[int]] = {}
        snapshot: list[DataFile] | None = None
        skipped = duplicates = 0
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
            source, source_hour, file_time = provenance.of(record)
            try:
                row = normalize_line(
                    record.value, source=source, source_hour=source_hour, file_time=file_time
                )
            except MalformedEventError as exc:
                dead.append(DeadLetter(record, exc.reason))
                continue
            created: int = row[CREATED_AT_INDEX]
            hour = created // 3600 * 3600
            seen = known.get(hour)
            if seen is None:
                if snapshot is None:
                    snapshot = self.table.files()
                seen = known[hour] = self.index.known(hour, snapshot)
                added[hour] = set()
            identity = pack(row[_KEY], created)
            fresh = added[hour]
            if identity in seen or identity in fresh:
                duplicates += 1
                continue
            fresh.add(identity)
            encoder = encoders.get((partition, hour))
            if encoder is None:
                encoder = encoders[(partition, hour)] = _FileEncoder(self.row_group_rows, partition)
            encoder.add((*row, partition, offset, record.value))

        identities = {h: frozenset(ids) for h, ids in added.items() if ids}
        batches, source_hours = self._encode(spans, encoders)
        return PreparedBatch(batches, tuple(dead), skipped, duplicates, source_hours, identities)

    def _encode(
        self, spans: Mapping[int, list[int]], encoders: Mapping[tuple[int, int], _FileEncoder]
    ) -> tuple[tuple[PartitionBatch, ...], dict[str, int]]:
        """Each partition's files, named by its offset range and event hours."""
        nonce = secrets.token_hex(4)
        batches = []
        source_hours: Counter[str] = Counter()
        for partition, (first, last) in sorted(spans.items()):
            files, data = [], []
            for (p, hour), encoder in sorted(encoders.items()):
                if p != partition:
                    continue
                path = data_file_path(
                    datetime.fromtimestamp(hour, UTC), topic=self.topic, partition=partition,
                    first=first, last=last, nonce=nonce,
                )  # fmt: skip
                encoded = encoder.finish()
                source_hours.update(encoder.source_hours)
                key = f"{self.table.prefix}/{path}"
                rows, stats = len(encoder.rows), encoder.stats()
                files.append(WrittenFile(key, path, rows, len(encoded), hour, stats))
                data.append(encoded)
            batches.append(PartitionBatch(partition, first, last, tuple(files), tuple(data)))
        return tuple(batches), dict(source_hours)

    def upload(self, batch: PreparedBatch) -> None:
        """Step 4: store the batch's files (part of no version until :meth:`commit`)."""
        position = 0
        for part in batch.partitions:
            for file, data in zip(part.files, part.data, strict=True):
                self.store.put(file.key, data)
                if self.on_object is not None:
                    self.on_object(file, position)
                position += 1
                log.info(
                    "lake file written",
                    extra={"key": file.key, "rows": file.rows, "partition": part.partition,
                           "first_offset": part.first, "last_offset": part.last},
                )  # fmt: skip

    def commit(self, batch: PreparedBatch) -> int | None:
        """Step 6: one Delta commit of the files and each partition's last offset.

        Returns the new version, or None when the table already holds the batch (an
        earlier attempt's commit succeeded but its answer was lost). Raises
        :class:`BatchAbandonedError` when another writer committed part of the range.
        """
        if not batch.partitions:
            return None
        if self.before_table_commit is not None:
            self.before_table_commit()
        current = self.table.offsets(self.topic, [p.partition for p in batch.partitions])
        if all(current[p.partition] >= p.last for p in batch.partitions):
            return None
        taken = {p.partition: current[p.partition] for p in batch.partitions
                 if current[p.partition] >= p.first}  # fmt: skip
        if taken:
            raise BatchAbandonedError(f"another writer committed offsets of partitions {taken}")
        offsets = {p.partition: p.last for p in batch.partitions}
        return self._commit_files(batch, offsets, {})

    def _commit_files(
        self, batch: PreparedBatch, offsets: Mapping[int, int], extra: Mapping[str, str]
    ) -> int:
        """One Delta commit of the batch's files, ``offsets`` as the partitions' versions
        and ``extra`` in its metadata."""
        now = int(time.time() * 1000)
        actions = [
            AddAction(f.path, f.size, {PARTITION_COLUMN: _date_of(f.path)}, now, True, f.stats)
            for f in batch.files
        ]
        metadata = {
            SOURCE_HOURS_KEY: orjson.dumps(dict(sorted(batch.source_hours.items()))).decode(),
            "ghlake.offsets": orjson.dumps(
                {str(p.partition): [p.first, p.last] for p in batch.partitions}
            ).decode(),
            "ghlake.duplicates_dropped": str(batch.duplicates),
            "ghlake.writer": self.writer_id,
            **extra,
        }
        try:
            version = self.table.commit(actions, offsets, self.topic, metadata)
        except Exception:
            self.index.forget()  # the outcome is unknown: read the table again next time
            raise
        for hour, identities in batch.identities.items():
            paths = [f.path for f in batch.files if f.event_hour == hour]
            self.index.committed(hour, paths, identities)
        return version

    def write(self, records: Sequence[TopicRecord]) -> BatchResult:
        """Steps 1, 2, 4 and 6 in one call (no dead-letter steps): for tests and tools."""
        recoveries = self.recover(r.partition for r in records)
        batch = self.prepare(records, {p: r.last_offset for p, r in recoveries.items()})
        self.upload(batch)
        version = self.commit(batch)
        return BatchResult(
            batch.files, batch.dead_letters, batch.skipped, batch.duplicates, version
        )

    def write_replayed(self, records: Sequence[TopicRecord], replay: str) -> BatchResult:
        """A topic replay's batch: the events the table lacks, in one commit without offsets.

        The records were read again from the topic, at or below the offsets the live
        writer stored, so step 2 skips no offset and the partitions' transactions stay
        as they are: the identity check alone decides, and every event the table holds
        already is dropped (:attr:`BatchResult.duplicates`). Records that are not events
        come back as dead letters; the live writer published them when it first read
        them. The commit names the replay (``ghlake.topic_replay``).
        """
        batch = self.prepare(records, {})
        if not batch.files:
            return BatchResult((), batch.dead_letters, 0, batch.duplicates, None)
        self.upload(batch)
        version = self._commit_files(batch, {}, {"ghlake.topic_replay": replay})
        return BatchResult(batch.files, batch.dead_letters, 0, batch.duplicates, version)
