"""The lake writer's step 2: grouping, naming, skipping, dead letters and duplicates.

The table is a real Delta table on the local disk (empty: nothing to read but its log);
the bucket is never asked for anything.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from minio import Minio

from ghlake.kafka.ranges import TopicRecord
from ghlake.lake.schema import (
    FILE_SCHEMA,
    LAKE_SCHEMA,
    TABLE_SCHEMA,
    UINT64_TYPE,
    checkpoint_prefix,
    data_file_path,
)
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import LakeTable
from ghlake.lake.writer import LakeWriter

HEADERS = {"source": b"gharchive", "hour": b"2019-04-01-23", "file_time": b"2019-04-01T23:00:00Z"}


def _event(n: int, created: str) -> bytes:
    return (
        f'{{"id":"{9_000_000_000 + n}","type":"WatchEvent","actor":{{"id":{n},"login":"u{n}"}},'
        f'"repo":{{"id":7,"name":"o/r"}},"payload":{{"action":"started"}},'
        f'"created_at":"{created}"}}'
    ).encode()


_TABLES: list[LakeTable] = []


@pytest.fixture(autouse=True)
def _table(tmp_path: Path) -> None:
    _TABLES[:] = [LakeTable(f"file://{tmp_path}/table", {})]


def _writer() -> LakeWriter:
    # An empty table: prepare() reads its log only; the bucket is never asked to connect.
    store = ObjectStore(Minio("127.0.0.1:9"), "unused")
    return LakeWriter(store, _TABLES[0], "gharchive.events")


def test_layout_names() -> None:
    hour = datetime(2019, 4, 1, 23, tzinfo=UTC)
    path = data_file_path(hour, topic="t", partition=2, first=5, last=17, nonce="ab12")
    assert path == (
        "event_date=2019-04-01/h23-t-p002-00000000000000000005-00000000000000000017-ab12.parquet"
    )
    assert checkpoint_prefix("github_events", "t", 2) == "_checkpoints/github_events/t/p002"
    assert LAKE_SCHEMA.names[-3:] == ["kafka_partition", "kafka_offset", "raw"]


def test_delta_types_hold_every_unsigned_value() -> None:
    """No unsigned types in Delta: the next signed type, UInt64 as decimal(20,0)."""
    assert FILE_SCHEMA.field("event_key").type == UINT64_TYPE == pa.decimal128(20, 0)
    assert FILE_SCHEMA.field("number").type == pa.int64()
    assert FILE_SCHEMA.field("locked").type == pa.int16()
    assert FILE_SCHEMA.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert TABLE_SCHEMA.names[-1] == "event_date"
    keys = pa.array([0, 2**63 - 1, 2**63, 2**64 - 1], pa.uint64())
    assert keys.cast(UINT64_TYPE).cast(pa.uint64()).to_pylist() == keys.to_pylist()


def test_prepare_groups_by_partition_and_event_hour() -> None:
    records = [
        TopicRecord(0, 10, _event(1, "2019-04-01T23:59:59Z"), HEADERS),
        TopicRecord(0, 11, _event(2, "2019-04-02T00:00:01Z"), HEADERS),  # a late event
        TopicRecord(1, 3, _event(3, "2019-04-01T23:10:00Z"), HEADERS),
        TopicRecord(0, 12, b'{"type":"WatchEvent"}', HEADERS),
        TopicRecord(1, 4, _event(4, "2019-04-01T23:11:00Z"), HEADERS),
    ]
    batch = _writer().prepare(records, {})
    assert [d.reason for d in batch.dead_letters] == ["no created_at"]
    spans = {p.partition: (p.first, p.last) for p in batch.partitions}
    assert spans == {0: (10, 12), 1: (3, 4)}, "the range covers dead letters too"
    paths = sorted(f.path.rsplit("-", 1)[0] for f in batch.files)  # less the nonce
    assert paths == [
        "event_date=2019-04-01/h23-gharchive.events-p000-00000000000000000010-00000000000000000012",
        "event_date=2019-04-01/h23-gharchive.events-p001-00000000000000000003-00000000000000000004",
        "event_date=2019-04-02/h00-gharchive.events-p000-00000000000000000010-00000000000000000012",
    ]
    assert all(f.key == f"{_TABLES[0].prefix}/{f.path}" for f in batch.files)
    for part in batch.partitions:
        for file, data in zip(part.files, part.data, strict=True):
            table = pq.read_table(io.BytesIO(data))
            assert table.schema.equals(FILE_SCHEMA)
            assert table.num_rows == file.rows
            assert set(table.column("kafka_partition").to_pylist()) == {part.partition}
            assert table.column("source_hour").to_pylist() == ["2019-04-01-23"] * file.rows
            by_offset = {(r.partition, r.offset): r.value for r in records}
            pairs = zip(table.column("kafka_offset").to_pylist(),
                        table.column("raw").to_pylist(), strict=True)  # fmt: skip
            for offset, raw in pairs:
                assert raw == by_offset[(part.partition, offset)], "the line, unchanged"


def test_prepare_skips_offsets_already_stored_and_names_by_what_remains() -> None:
    records = [TopicRecord(0, n, _event(n, "2019-04-01T23:00:00Z"), HEADERS) for n in range(6)]
    batch = _writer().prepare(records, {0: 3})
    assert batch.skipped == 4
    [part] = batch.partitions
    assert (part.first, part.last) == (4, 5)
    assert [f.rows for f in part.files] == [2]
    assert _writer().prepare(records, {0: 5}).partitions == ()


def test_the_same_records_make_the_same_data_under_names_of_their_own() -> None:
    records = [TopicRecord(n % 2, n // 2, _event(n, "2019-04-01T23:30:00Z"), HEADERS)
               for n in range(40)]  # fmt: skip
    first, again = _writer().prepare(records, {}), _writer().prepare(records, {})
    assert [p.data for p in first.partitions] == [p.data for p in again.partitions]
    # An uncommitted attempt's files (orphans) are never overwritten by the next attempt.
    assert not {f.path for f in first.files} & {f.path for f in again.files}


def test_an_event_published_twice_in_one_batch_is_written_once() -> None:
    """A re-replay puts the same lines on the topic again, at new offsets."""
    lines = [_event(n, "2019-04-01T23:00:00Z") for n in range(5)]
    records = [TopicRecord(0, n, line, HEADERS) for n, line in enumerate(lines + lines)]
    batch = _writer().prepare(records, {})
    assert (batch.duplicates, sum(f.rows for f in batch.files)) == (5, 5)
    [part] = batch.partitions
    assert (part.first, part.last) == (0, 9), "the offsets of the copies are stored too"
    assert batch.source_hours == {"2019-04-01-23": 5}


def test_a_redelivery_within_the_batch_is_written_once() -> None:
    records = [TopicRecord(0, n, _event(n, "2019-04-01T23:00:00Z"), HEADERS) for n in range(5)]
    # The partition moved away during the take and came back: 3 and 4 arrive again.
    batch = _writer().prepare([*records, *records[3:]], {})
    assert batch.skipped == 2
    [part] = batch.partitions
    assert (part.first, part.last) == (0, 4)
    table = pq.read_table(io.BytesIO(part.data[0]))
    assert table.column("kafka_offset").to_pylist() == [0, 1, 2, 3, 4]
