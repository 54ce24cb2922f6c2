"""The lake's readers key events by the lake's own columns: export and verify, locally.

The lake is written by the real writer's step (:meth:`LakeWriter.prepare`) into a
dictionary standing in for the bucket, and committed to a real Delta table on the local
disk, so export and verify read real Parquet files through a real Delta log. Copies of
one event are committed on purpose (prepared against an empty table, as a lake converted
from the old layout may hold them): the readers must still yield each identity once.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clickhouse_cityhash.cityhash import CityHash64

from ghlake.errors import InvalidInputError
from ghlake.events.identity import EventIdentity
from ghlake.hours import Hour
from ghlake.kafka.ranges import TopicRecord
from ghlake.lake.export import range_lines
from ghlake.lake.store import ObjectInfo, ObjectStore
from ghlake.lake.table import LakeTable
from ghlake.lake.verify import verify_hour
from ghlake.lake.writer import LakeWriter
from ghlake.sources.archive import LocalArchive
from ghlake.sources.lines import classify_lines

HOUR = Hour.parse("2015-01-01-15")
HEADERS = {"source": b"gharchive", "hour": HOUR.name.encode(), "file_time": b"2015-01-01T15:00:00Z"}


def _event(event_id: str, created: str, login: str = "a") -> bytes:
    return (
        f'{{"id":"{event_id}","type":"WatchEvent","actor":{{"id":1,"login":"{login}"}},'
        f'"repo":{{"id":7,"name":"o/r"}},"payload":{{"action":"started"}},'
        f'"public":true,"created_at":"{created}"}}'
    ).encode()


def _timeline(login: str, created: str = "2015-01-01T07:30:00-08:00") -> bytes:
    return (
        f'{{"type":"WatchEvent","actor":"{login}","repository":{{"owner":"o","name":"r",'
        f'"id":5}},"payload":{{"action":"started"}},"created_at":"{created}"}}'
    ).encode()


class MemoryStore(ObjectStore):
    """A bucket in a dictionary: what export and verify ask of the store."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str = "") -> None:
        self.objects[key] = data

    def get(self, key: str, offset: int = 0, length: int = 0) -> bytes:
        data = self.objects[key]
        return data[offset : offset + length] if length else data[offset:]

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield ObjectInfo(key, len(self.objects[key]))


def _table(root: Path) -> LakeTable:
    return LakeTable(f"file://{root}/table", {})


def _write(store: MemoryStore, table: LakeTable, partition: int, lines: list[bytes]) -> None:
    """One batch of the lake writer: ``lines`` at offsets 0.. of ``partition``, committed
    without deduplication (prepared against an empty table of its own)."""
    scratch = LakeTable(f"{table.uri}-scratch-{len(store.objects)}", {})
    writer = LakeWriter(store, scratch, "gharchive.events")
    records = [TopicRecord(partition, n, line, HEADERS) for n, line in enumerate(lines)]
    batch = writer.prepare(records, {})
    assert not batch.dead_letters
    for part in batch.partitions:
        for file, data in zip(part.files, part.data, strict=True):
            store.put(f"{table.prefix}/{file.path}", data)
    LakeWriter(store, table, "gharchive.events").commit(batch)


def _column_identities(store: MemoryStore) -> set[EventIdentity]:
    """(event_key, created_at) of every row, read plainly from the Parquet objects."""
    found = set()
    for data in store.objects.values():
        table = pq.read_table(io.BytesIO(data), columns=["event_key", "created_at"])
        seconds = table.column("created_at").cast(pa.int64()).to_pylist()  # microseconds
        keys = table.column("event_key").cast(pa.uint64()).to_pylist()
        found |= {EventIdentity(k, s // 10**6) for k, s in zip(keys, seconds, strict=True)}
    return found


def test_the_export_yields_each_identity_of_the_event_key_column_once(tmp_path: Path) -> None:
    event = _event("2489651045", "2015-01-01T15:00:00Z")
    # The same event as the live poller published it: other bytes, the same identity.
    from_live = orjson.dumps(orjson.loads(event), option=orjson.OPT_SORT_KEYS)
    reused = _event("2489651045", "2015-01-01T16:00:00Z")  # GitHub reused the id
    timeline, other_timeline = _timeline("a"), _timeline("b")
    store, table = MemoryStore(), _table(tmp_path)
    _write(store, table, 0, [event, timeline, other_timeline, reused])
    _write(store, table, 1, [from_live, timeline, event])  # copies in other objects

    start = datetime(2015, 1, 1, 15, tzinfo=UTC)
    lines = list(range_lines(table, store, start, datetime(2015, 1, 1, 17, tzinfo=UTC)))
    identities = [EventIdentity.of_event(orjson.loads(line), line) for line in lines]
    assert len(identities) == len(set(identities)) == 4
    assert set(identities) == _column_identities(store)
    assert EventIdentity(CityHash64(timeline), 1420126200) in identities, "Timeline: the hash"
    assert sorted(lines) == sorted([event, timeline, other_timeline, reused])

    only_first = list(range_lines(table, store, start, datetime(2015, 1, 1, 16, tzinfo=UTC)))
    assert sorted(only_first) == sorted([event, timeline, other_timeline])


def _hour_file(root: Path, lines: list[bytes]) -> LocalArchive:
    with gzip.open(root / HOUR.filename, "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")
    return LocalArchive(root)


def _published(lines: list[bytes]) -> list[bytes]:
    """What the producer sends to the events topic from the hour's lines."""
    return [o.value for o in classify_lines(lines) if o.kind != "dead"]


def test_verify_counts_by_identity_and_prints_samples_as_key_at_time(tmp_path: Path) -> None:
    first, second = _event("1", "2015-01-01T15:00:00Z"), _event("2", "2015-01-01T15:00:01Z")
    timeline = _timeline("a")
    hour = [first, second, timeline, first, b"\x00" * 8, b"{broken"]  # a repeat, 2 dead letters
    archive = _hour_file(tmp_path, hour)

    whole, table = MemoryStore(), _table(tmp_path / "whole")
    _write(whole, table, 0, _published(hour))
    result = verify_hour(table, whole, archive, HOUR)
    assert (result.source_lines, result.source_events, result.lake_rows) == (6, 3, 3)
    assert result.ok

    # The lake lost the Timeline event and holds the first event twice.
    wrong, table = MemoryStore(), _table(tmp_path / "wrong")
    _write(wrong, table, 0, [first, second])
    _write(wrong, table, 1, [first])
    result = verify_hour(table, wrong, archive, HOUR)
    assert (result.missing, result.duplicates, result.unexpected) == (1, 1, 0)
    assert result.missing_sample == (EventIdentity(CityHash64(timeline), 1420126200),)
    assert [str(i) for i in result.duplicate_sample] == ["1@2015-01-01T15:00:00Z"]
    assert not result.ok


def test_the_export_reads_the_table_as_of_a_version(tmp_path: Path) -> None:
    first, later = _event("1", "2015-01-01T15:00:00Z"), _event("2", "2015-01-01T15:30:00Z")
    store, table = MemoryStore(), _table(tmp_path)
    _write(store, table, 0, [first])
    version = table.version()
    _write(store, table, 1, [later])
    start, end = datetime(2015, 1, 1, 15, tzinfo=UTC), datetime(2015, 1, 1, 16, tzinfo=UTC)
    assert sorted(range_lines(table, store, start, end)) == sorted([first, later])
    assert list(range_lines(table, store, start, end, version)) == [first]


def test_a_version_the_table_does_not_have_is_bad_input(tmp_path: Path) -> None:
    """The API answers these with 422, not 500 (a fuzz run asked for version 947140711402499)."""
    store, table = MemoryStore(), _table(tmp_path)
    _write(store, table, 0, [_event("1", "2015-01-01T15:00:00Z")])
    latest = table.version()
    with pytest.raises(InvalidInputError, match=f"versions 0..{latest}, not 947140711402499"):
        table.snapshot(version=947140711402499)
    assert table.snapshot(version=latest).version() == latest
