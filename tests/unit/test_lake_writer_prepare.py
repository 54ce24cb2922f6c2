"""The lake writer's pure steps: grouping, naming, skipping and dead letters (no I/O)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow.parquet as pq
from minio import Minio

from ghlake.lake.schema import LAKE_SCHEMA, checkpoint_prefix, object_key, partition_path
from ghlake.lake.store import ObjectStore
from ghlake.lake.writer import LakeWriter, SourceRecord

HEADERS = {"source": b"gharchive", "hour": b"2019-04-01-23", "file_time": b"2019-04-01T23:00:00Z"}


def _event(n: int, created: str) -> bytes:
    return (
        f'{{"id":"{9_000_000_000 + n}","type":"WatchEvent","actor":{{"id":{n},"login":"u{n}"}},'
        f'"repo":{{"id":7,"name":"o/r"}},"payload":{{"action":"started"}},'
        f'"created_at":"{created}"}}'
    ).encode()


def _writer() -> LakeWriter:
    # prepare() never touches the store; this client is never asked to connect.
    return LakeWriter(ObjectStore(Minio("127.0.0.1:9"), "unused"), "gharchive.events", "events")


def test_layout_names() -> None:
    hour = datetime(2019, 4, 1, 23, tzinfo=UTC)
    assert partition_path("events", hour) == "events/event_date=2019-04-01/event_hour=23"
    key = object_key("events", hour, topic="t", partition=2, first=5, last=17)
    assert key == (
        "events/event_date=2019-04-01/event_hour=23/"
        "t-p002-00000000000000000005-00000000000000000017.parquet"
    )
    assert checkpoint_prefix("events", "t", 2) == "_checkpoints/events/t/p002"
    assert LAKE_SCHEMA.names[-3:] == ["kafka_partition", "kafka_offset", "raw"]


def test_prepare_groups_by_partition_and_event_hour() -> None:
    records = [
        SourceRecord(0, 10, _event(1, "2019-04-01T23:59:59Z"), HEADERS),
        SourceRecord(0, 11, _event(2, "2019-04-02T00:00:01Z"), HEADERS),  # a late event
        SourceRecord(1, 3, _event(3, "2019-04-01T23:10:00Z"), HEADERS),
        SourceRecord(0, 12, b'{"type":"WatchEvent"}', HEADERS),
        SourceRecord(1, 4, _event(4, "2019-04-01T23:11:00Z"), HEADERS),
    ]
    batch = _writer().prepare(records, {})
    assert [d.reason for d in batch.dead_letters] == ["no created_at"]
    spans = {p.intent.partition: (p.intent.first, p.intent.last) for p in batch.partitions}
    assert spans == {0: (10, 12), 1: (3, 4)}, "the range covers dead letters too"
    keys = sorted(f.key for f in batch.files)
    assert keys == [
        "events/event_date=2019-04-01/event_hour=23/"
        "gharchive.events-p000-00000000000000000010-00000000000000000012.parquet",
        "events/event_date=2019-04-01/event_hour=23/"
        "gharchive.events-p001-00000000000000000003-00000000000000000004.parquet",
        "events/event_date=2019-04-02/event_hour=00/"
        "gharchive.events-p000-00000000000000000010-00000000000000000012.parquet",
    ]
    for part in batch.partitions:
        assert part.intent.keys == tuple(f.key for f in part.files)
        for file, data in zip(part.files, part.data, strict=True):
            table = pq.read_table(io.BytesIO(data))
            assert table.schema.equals(LAKE_SCHEMA)
            assert table.num_rows == file.rows
            assert set(table.column("kafka_partition").to_pylist()) == {part.intent.partition}
            assert table.column("source_hour").to_pylist() == ["2019-04-01-23"] * file.rows
            by_offset = {(r.partition, r.offset): r.value for r in records}
            pairs = zip(table.column("kafka_offset").to_pylist(),
                        table.column("raw").to_pylist(), strict=True)  # fmt: skip
            for offset, raw in pairs:
                assert raw == by_offset[(part.intent.partition, offset)], "the line, unchanged"


def test_prepare_skips_offsets_already_stored_and_names_by_what_remains() -> None:
    records = [SourceRecord(0, n, _event(n, "2019-04-01T23:00:00Z"), HEADERS) for n in range(6)]
    batch = _writer().prepare(records, {0: 3})
    assert batch.skipped == 4
    [part] = batch.partitions
    assert (part.intent.first, part.intent.last) == (4, 5)
    assert [f.rows for f in part.files] == [2]
    assert _writer().prepare(records, {0: 5}).partitions == ()


def test_the_same_records_make_the_same_objects() -> None:
    records = [SourceRecord(n % 2, n // 2, _event(n, "2019-04-01T23:30:00Z"), HEADERS)
               for n in range(40)]  # fmt: skip
    first, again = _writer().prepare(records, {}), _writer().prepare(records, {})
    assert [f.key for f in first.files] == [f.key for f in again.files]
    assert [p.data for p in first.partitions] == [p.data for p in again.partitions]


def test_a_redelivery_within_the_batch_is_written_once() -> None:
    records = [SourceRecord(0, n, _event(n, "2019-04-01T23:00:00Z"), HEADERS) for n in range(5)]
    # The partition moved away during the take and came back: 3 and 4 arrive again.
    batch = _writer().prepare([*records, *records[3:]], {})
    assert batch.skipped == 2
    [part] = batch.partitions
    assert (part.intent.first, part.intent.last) == (0, 4)
    table = pq.read_table(io.BytesIO(part.data[0]))
    assert table.column("kafka_offset").to_pylist() == [0, 1, 2, 3, 4]
