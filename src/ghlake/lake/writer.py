"""Turning a batch of topic records into Parquet objects in the lake.

The writer is pure of Kafka: the edge (the Faust agent) hands it records with
their partition and offset, waits for :meth:`LakeWriter.write` to return, and
only then acknowledges the offsets. A record that is not an event comes back
as a :class:`DeadLetter` for the edge to publish; nothing is dropped.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from ghlake.events.identity import EventBasics, MalformedEventError, event_basics, parse_event
from ghlake.lake.schema import LAKE_SCHEMA, object_key
from ghlake.lake.store import ObjectStore

__all__ = ["BatchResult", "DeadLetter", "LakeWriter", "SourceRecord", "WrittenFile"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One message of the events topic."""

    partition: int
    offset: int
    value: bytes
    headers: Mapping[str, bytes]


@dataclass(frozen=True)
class DeadLetter:
    """A record the lake cannot hold, and why."""

    record: SourceRecord
    reason: str


@dataclass(frozen=True)
class WrittenFile:
    """One Parquet object written to the lake."""

    key: str
    rows: int
    size: int


@dataclass(frozen=True)
class BatchResult:
    """What one batch produced."""

    files: tuple[WrittenFile, ...]
    dead_letters: tuple[DeadLetter, ...]

    @property
    def rows(self) -> int:
        """Events written."""
        return sum(f.rows for f in self.files)


def _header(record: SourceRecord, name: str) -> str:
    return record.headers.get(name, b"").decode("utf-8", "replace")


class LakeWriter:
    """Writes batches of one topic under ``prefix`` in the store's bucket."""

    def __init__(self, store: ObjectStore, topic: str, prefix: str) -> None:
        self.store = store
        self.topic = topic
        self.prefix = prefix

    def write(self, records: Sequence[SourceRecord]) -> BatchResult:
        """Write every event of ``records``; return once every object is stored.

        Raises :class:`ghlake.errors.StorageError` (transient or not) when the
        store fails; the caller retries the same records, which rewrites the
        same object names.
        """
        by_partition: dict[int, list[tuple[SourceRecord, EventBasics]]] = defaultdict(list)
        dead: list[DeadLetter] = []
        for record in records:
            try:
                basics = event_basics(parse_event(record.value))
            except MalformedEventError as exc:
                dead.append(DeadLetter(record, exc.reason))
                continue
            by_partition[record.partition].append((record, basics))

        files: list[WrittenFile] = []
        for partition, items in sorted(by_partition.items()):
            # The range covers the whole batch of this partition, dead letters included,
            # so the name is the same whatever a retry decides about single records.
            offsets = [r.offset for r in records if r.partition == partition]
            first, last = min(offsets), max(offsets)
            by_hour: dict[datetime, list[tuple[SourceRecord, EventBasics]]] = defaultdict(list)
            for item in items:
                created = item[1].created_at
                by_hour[created.replace(minute=0, second=0, microsecond=0)].append(item)
            for hour_start, rows in sorted(by_hour.items()):
                key = object_key(
                    self.prefix, hour_start,
                    topic=self.topic, partition=partition, first=first, last=last,
                )  # fmt: skip
                data = _to_parquet(rows)
                self.store.put(key, data)
                files.append(WrittenFile(key, len(rows), len(data)))
                log.info(
                    "lake file written",
                    extra={"key": key, "rows": len(rows), "partition": partition,
                           "first_offset": first, "last_offset": last},
                )  # fmt: skip
        return BatchResult(tuple(files), tuple(dead))


def _to_parquet(rows: Sequence[tuple[SourceRecord, EventBasics]]) -> bytes:
    columns = {
        "event_id": [b.event_id for _, b in rows],
        "event_type": [b.event_type for _, b in rows],
        "created_at": [b.created_at for _, b in rows],
        "actor_login": [b.actor_login for _, b in rows],
        "repo_name": [b.repo_name for _, b in rows],
        "repo_id": [b.repo_id for _, b in rows],
        "source": [_header(r, "source") for r, _ in rows],
        "source_hour": [_header(r, "hour") for r, _ in rows],
        "kafka_partition": [r.partition for r, _ in rows],
        "kafka_offset": [r.offset for r, _ in rows],
        "raw": [r.value.decode("utf-8", "replace") for r, _ in rows],
    }
    table = pa.Table.from_pydict(columns, schema=LAKE_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
