"""The writer's Delta protocol step by step against the real MinIO of the stack.

A crash is the writer's steps stopping where a kill -9 would stop them; a restart is a
new LakeWriter on the same table. The worker-level kill -9 tests are in test_faults.py.
These replace the tests of the bucket checkpoints (intent/state objects) that the Delta
table retired: a crash mid-upload, a crash after the files and before the commit, a crash
after the commit before the Kafka commit; and add concurrency, deduplication, UInt64 keys
above 2^63, compaction, vacuum, time travel and chDB's deltaLake().
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date

import chdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from clickhouse_cityhash.cityhash import CityHash64

from ghlake.errors import InvalidInputError
from ghlake.hours import Hour
from ghlake.kafka.ranges import TopicRecord
from ghlake.lake import maintenance
from ghlake.lake.convert import convert_parquet_layout
from ghlake.lake.reader import count_by_source_hour
from ghlake.lake.schema import FILE_SCHEMA, LAKE_SCHEMA, TABLE_PROPERTIES
from ghlake.lake.table import LakeTable
from ghlake.lake.writer import LakeWriter
from ghlake.platform import Platform
from ghlake.synth import SynthConfig
from ghlake.synth.hourfile import generate_hour

pytestmark = [pytest.mark.integration]

TOPIC = "test.events"


def _records(count: int, partitions: int = 2, first: int = 0) -> list[TopicRecord]:
    """Generated 2019 events spread over partitions, plus one line that is not an event."""
    hour = Hour.parse("2019-02-03-4")
    headers = {
        "source": b"gharchive",
        "hour": hour.name.encode(),
        "file_time": b"2019-02-03T04:00:00Z",
    }
    lines = list(generate_hour(hour, SynthConfig(events_per_hour=count - 1, seed=11)))
    lines.insert(count // 3, b'{"type":"PushEvent","created_at":"never"}')
    offsets = [first] * partitions
    records = []
    for n, line in enumerate(lines):
        partition = n % partitions
        records.append(TopicRecord(partition, offsets[partition], line, headers))
        offsets[partition] += 1
    return records


def _table(platform: Platform) -> LakeTable:
    settings = platform.settings
    lake = settings.lake.model_copy(update={"table": f"test-{uuid.uuid4().hex[:8]}"})
    return LakeTable.from_settings(settings.model_copy(update={"lake": lake}))


@pytest.fixture
def writer(platform: Platform) -> LakeWriter:
    return LakeWriter(platform.store, _table(platform), TOPIC)


def _rows(writer: LakeWriter, version: int | None = None) -> pa.Table:
    return writer.table.dataset(version).to_table(
        columns=["kafka_partition", "kafka_offset", "event_key", "created_at"]
    )


def _offsets_in_lake(writer: LakeWriter) -> Counter[tuple[int, int]]:
    rows = _rows(writer)
    pairs = zip(
        rows.column("kafka_partition").to_pylist(), rows.column("kafka_offset").to_pylist(),
        strict=True,
    )  # fmt: skip
    return Counter(pairs)


def _expected(records: list[TopicRecord]) -> Counter[tuple[int, int]]:
    return Counter((r.partition, r.offset) for r in records if b"never" not in r.value)


def _fresh(writer: LakeWriter) -> LakeWriter:
    """The same table seen by a restarted process."""
    return LakeWriter(
        writer.store, LakeTable(writer.table.uri, writer.table.storage_options), TOPIC
    )


def _orphans(writer: LakeWriter) -> set[str]:
    """Data files in the bucket that no version of the table references."""
    prefix = writer.table.prefix
    listed = {i.key[len(prefix) + 1 :] for i in writer.store.list(f"{prefix}/")}
    data = {k for k in listed if k.endswith(".parquet")}
    return data - {f.path for f in writer.table.files()}


def test_a_crash_after_some_files_leaves_orphans_and_batches_cut_elsewhere_do_not_duplicate(
    writer: LakeWriter,
) -> None:
    records = _records(3000)
    recovered = writer.recover({0, 1})
    batch = writer.prepare(records[:2000], {p: r.last_offset for p, r in recovered.items()})
    # Crash in the middle of the upload (step 4): one file stored, nothing committed.
    part = batch.partitions[0]
    writer.store.put(part.files[0].key, part.data[0])
    assert _orphans(writer) == {part.files[0].path}
    assert _offsets_in_lake(writer) == Counter(), "readers see no uncommitted file"

    restarted = _fresh(writer)
    assert restarted.recover({0, 1})[0].last_offset == -1
    restarted.write(records[:1100])  # the records again, cut into other batches
    restarted.write(records[1100:])
    assert _offsets_in_lake(restarted) == _expected(records), "every event once"
    assert restarted.table.offsets(TOPIC, [0, 1]) == {0: 1499, 1: 1499}

    deleted = maintenance.vacuum(restarted.table, 0)
    assert [d.rsplit("/", 1)[-1] for d in deleted] == [part.files[0].path.rsplit("/", 1)[-1]]
    assert _orphans(restarted) == set()
    assert _offsets_in_lake(restarted) == _expected(records)


def test_a_crash_after_the_files_before_the_commit_rewrites_the_batch(writer: LakeWriter) -> None:
    records = _records(2000)
    batch = writer.prepare(records, {})
    writer.upload(batch)  # every file stored, then the process dies before commit()
    restarted = _fresh(writer)
    assert len(_orphans(restarted)) == len(batch.files)
    restarted.write(records[:500])
    restarted.write(records[500:])
    assert _offsets_in_lake(restarted) == _expected(records)


def test_records_committed_before_a_crash_are_skipped_not_written_twice(
    writer: LakeWriter,
) -> None:
    records = _records(3000)
    # The batch is committed; the worker dies before the Kafka offset commit.
    stored = writer.write(records[:2001])
    assert len(stored.dead_letters) == 1
    assert "timestamp" in stored.dead_letters[0].reason

    restarted = _fresh(writer)
    again = restarted.write(records[:1000])
    assert (again.skipped, again.rows, again.files) == (1000, 0, ())
    rest = restarted.write(records[1000:])
    assert rest.skipped == 1001
    assert rest.rows == 3000 - 2001
    assert _offsets_in_lake(restarted) == _expected(records)


def test_a_commit_whose_answer_was_lost_is_not_made_twice(writer: LakeWriter) -> None:
    records = _records(600)
    batch = writer.prepare(records, {})
    writer.upload(batch)
    version = writer.commit(batch)
    assert version is not None
    assert writer.commit(batch) is None, "the table's offsets already cover the batch"
    assert writer.table.version() == version


def test_concurrent_writers_commit_every_batch(writer: LakeWriter) -> None:
    """Four writers (one per partition, as the group gives) commit at once, many times."""
    records = _records(8000, partitions=4)
    by_partition = {p: [r for r in records if r.partition == p] for p in range(4)}
    errors: list[BaseException] = []

    def run(partition: int) -> None:
        own = _fresh(writer)
        mine = by_partition[partition]
        try:
            for start in range(0, len(mine), 250):
                own.write(mine[start : start + 250])
        except BaseException as exc:
            errors.append(exc)
            raise

    threads = [threading.Thread(target=run, args=(p,)) for p in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _offsets_in_lake(writer) == _expected(records)
    assert writer.table.offsets(TOPIC, range(4)) == dict.fromkeys(range(4), 1999)
    appends = [c for c in writer.table.history() if c.operation == "WRITE"]
    assert len(appends) == 4 * 8, "no commit lost"


def test_an_event_published_twice_is_stored_once_even_with_a_key_above_2_63(
    writer: LakeWriter, platform: Platform
) -> None:
    headers = {"source": b"gharchive", "hour": b"2013-03-01-4", "file_time": b""}
    lines, n = [], 0
    while len(lines) < 40:  # id-less Timeline events, half of them keyed above 2^63
        line = (
            b'{"type":"WatchEvent","actor":"u%d","repository":{"owner":"o","name":"r",'
            b'"id":5},"payload":{"action":"started"},"created_at":"2013-03-01T04:00:%02d-08:00"}'
            % (n, n % 60)
        )
        n += 1
        if (CityHash64(line) >= 2**63) == (len(lines) % 2 == 0):
            lines.append(line)
    first = [TopicRecord(0, o, line, headers) for o, line in enumerate(lines)]
    assert writer.write(first).rows == 40
    # Published again (a forced re-replay): new offsets, the same events.
    again = [TopicRecord(0, 40 + o, line, headers) for o, line in enumerate(lines)]
    result = _fresh(writer).write(again)
    assert (result.rows, result.duplicates) == (0, 40)
    assert writer.table.offsets(TOPIC, [0]) == {0: 79}

    rows = _rows(writer)
    keys = rows.column("event_key").cast(pa.uint64()).to_pylist()
    assert sorted(keys) == sorted(CityHash64(line) for line in lines), "exact above 2^63"
    assert sum(k >= 2**63 for k in keys) == 20
    # chDB reads the same snapshot and compares the same numbers as the warehouse's UInt64.
    endpoint = platform.settings.minio.endpoint
    uri = f"http://{endpoint}/{platform.settings.minio.bucket}/{writer.table.prefix}/"
    query = (
        f"SELECT toUInt64(event_key) FROM deltaLake('{uri}', "
        f"'{platform.settings.minio_access_key}', '{platform.settings.minio_secret_key}') "
        "ORDER BY 1"
    )
    found = [int(v) for v in chdb.query(query, "CSV").bytes().decode().split()]
    assert found == sorted(keys)


def test_an_hour_let_go_by_the_identity_index_is_read_back_and_still_deduplicated(
    writer: LakeWriter,
) -> None:
    """With room for one hour, a duplicate of an earlier hour's event is still dropped."""
    one_hour = LakeWriter(writer.store, writer.table, TOPIC, dedup_hours=1)
    earlier = _records(300, partitions=1)  # 2019-02-03, hour 4
    later = [
        TopicRecord(0, 1000 + r.offset, r.value.replace(b"T04:", b"T05:"), r.headers)
        for r in earlier
    ]
    first = one_hour.write(earlier)
    assert one_hour.write(later).rows == first.rows, "the next hour: new events"
    read = one_hour.index.files_read
    again = [TopicRecord(0, 2000 + r.offset, r.value, r.headers) for r in earlier]
    result = one_hour.write(again)
    assert (result.rows, result.duplicates) == (0, first.rows)
    assert one_hour.index.files_read > read, "the earlier hour was read back from its files"
    assert sum(_offsets_in_lake(one_hour).values()) == 2 * first.rows


def test_files_hold_the_typed_schema_partitioned_by_event_date(writer: LakeWriter) -> None:
    records = _records(1200, partitions=1)
    result = writer.write(records)
    [file] = result.files
    assert file.path.startswith("event_date=2019-02-03/h04-test.events-p000-")
    data = writer.store.get(file.key)
    table = pq.read_table(io.BytesIO(data))
    assert table.num_rows == 1199
    assert table.schema.equals(FILE_SCHEMA)
    assert set(table.column("source_hour").to_pylist()) == {"2019-02-03-4"}
    assert pq.read_metadata(io.BytesIO(data)).row_group(0).column(0).compression == "ZSTD"
    assert writer.table.table().metadata().configuration == TABLE_PROPERTIES
    [commit] = [c for c in writer.table.history() if c.operation == "WRITE"]
    assert commit.source_hours == {"2019-02-03-4": 1199}
    assert commit.offsets == {"0": [0, 1199]}


def test_counts_per_source_hour_from_the_log_or_the_column(writer: LakeWriter) -> None:
    hours = [b"2019-02-03-4", b"2019-02-03-5", b"2019-02-03-6"]
    records = [  # three source hours interleaved, as when replays overlap
        r._replace(headers={**r.headers, "hour": hours[n % 3]})
        for n, r in enumerate(_records(900, partitions=1))
    ]
    writer.write(records)
    expected = Counter(r.headers["hour"].decode() for r in records if b"never" not in r.value)
    assert count_by_source_hour(writer.table, writer.store) == expected
    assert count_by_source_hour(writer.table, writer.store, ["2019-02-03-5"]) == {
        "2019-02-03-5": expected["2019-02-03-5"]
    }


def test_compaction_of_closed_partitions_keeps_every_event_and_time_travel_reads_before_it(
    writer: LakeWriter,
) -> None:
    records = _records(3000, partitions=3)
    for start in range(0, 3000, 300):
        writer.write(records[start : start + 300])
    before = writer.table.version()
    files_before = len(writer.table.files())
    assert files_before == 30
    planned = maintenance.compact(writer.table, 128, dry_run=True)
    assert (planned.partitions, planned.files_removed) == (("2019-02-03",), 30)
    # The partition of "today" is never compacted.
    none = maintenance.compact(writer.table, 128, today=date(2019, 2, 3))
    assert none.partitions == ()
    done = maintenance.compact(writer.table, 128, date(2019, 2, 1), date(2019, 2, 28))
    assert (done.files_removed, done.files_added) == (30, 1)
    assert len(writer.table.files()) == 1
    assert _offsets_in_lake(writer) == _expected(records)
    assert count_by_source_hour(writer.table, writer.store) == {"2019-02-03-4": 2999}
    assert len(writer.table.files(before)) == files_before, "the version before compaction"
    assert _rows(writer, before).num_rows == 2999
    assert maintenance.history(writer.table, 1)[0].operation == "OPTIMIZE"
    # Vacuum with the default retention keeps the replaced files (time travel); 0 removes them.
    assert maintenance.vacuum(writer.table, 168) == []
    assert len(maintenance.vacuum(writer.table, 0)) == files_before
    assert _offsets_in_lake(writer) == _expected(records)


def _other_day(count: int, first: int) -> list[TopicRecord]:
    """Events of another date (2019-02-04), at offsets from ``first`` of partition 0."""
    hour = Hour.parse("2019-02-04-7")
    headers = {"source": b"gharchive", "hour": hour.name.encode(), "file_time": b""}
    lines = generate_hour(hour, SynthConfig(events_per_hour=count, seed=5))
    return [TopicRecord(0, first + n, line, headers) for n, line in enumerate(lines)]


def test_a_reader_counting_an_hour_while_appends_and_compaction_run_sees_the_true_count(
    writer: LakeWriter,
) -> None:
    records = _records(3000, partitions=3)
    for start in range(0, 3000, 200):
        writer.write(records[start : start + 200])
    hour, true = "2019-02-03-4", 2999
    seen: Counter[tuple[int, int]] = Counter()
    stop = threading.Event()
    errors: list[BaseException] = []

    def count() -> None:
        reader = _fresh(writer)
        try:
            while not stop.is_set():
                version = reader.table.version()
                by_log = count_by_source_hour(reader.table, reader.store, [hour], version)
                rows = reader.table.dataset(version).count_rows(
                    filter=pc.field("source_hour") == hour
                )
                seen[(by_log.get(hour, 0), rows)] += 1
        except BaseException as exc:
            errors.append(exc)
            raise

    reader = threading.Thread(target=count)
    reader.start()
    try:
        appender = _fresh(writer)
        other = _other_day(2000, 10_000)
        for start in range(0, 1000, 100):  # appends of another day ...
            appender.write(other[start : start + 100])
        done = maintenance.compact(writer.table, 128, date(2019, 2, 3), date(2019, 2, 3))
        assert done.files_removed == 45
        for start in range(1000, 2000, 100):  # ... before, and after, the compaction
            appender.write(other[start : start + 100])
        maintenance.compact(writer.table, 128, date(2019, 2, 4), date(2019, 2, 4))
    finally:
        stop.set()
        reader.join()
    assert not errors
    assert set(seen) == {(true, true)}, seen
    assert sum(seen.values()) >= 5, "the reader counted while the table changed"


def test_a_compaction_killed_halfway_leaves_the_table_whole_and_runs_again(
    writer: LakeWriter, platform: Platform
) -> None:
    records = _records(6000, partitions=6)
    for start in range(0, 6000, 200):
        writer.write(records[start : start + 200])
    writer.write(_other_day(3000, 10_000))
    files = len(writer.table.files())
    env = {**os.environ, "GHLAKE_LAKE__TABLE": writer.table.prefix}
    argv = [sys.executable, "-m", "ghlake.cli.main", "lake", "compact"]
    out = subprocess.DEVNULL
    with subprocess.Popen(argv, env=env, stdout=out, stderr=out) as process:
        deadline = time.monotonic() + 60
        while not _orphans(writer) and process.poll() is None:  # writing its first file
            assert time.monotonic() < deadline, "the compaction never began writing"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, "the compaction was running when killed"
    assert _offsets_in_lake(writer) == _expected(records) + Counter(
        {(0, 10_000 + n): 1 for n in range(3000)}
    )
    left = len(writer.table.files())
    assert 2 <= left <= files, "killed before (or between) the partitions' commits"
    again = maintenance.compact(writer.table, 128)
    assert len(writer.table.files()) == 2
    assert again.files_added <= 2
    assert count_by_source_hour(writer.table, writer.store) == {
        "2019-02-03-4": 5999, "2019-02-04-7": 3000,
    }  # fmt: skip
    maintenance.vacuum(writer.table, 0)
    assert not _orphans(writer)
    assert _offsets_in_lake(writer) == _expected(records) + Counter(
        {(0, 10_000 + n): 1 for n in range(3000)}
    )


def test_a_lake_of_the_old_layout_is_converted_once(writer: LakeWriter) -> None:
    """Old files (unsigned types, milliseconds) and state.json checkpoints become one commit."""
    old_prefix = f"old-{uuid.uuid4().hex[:8]}"
    records = _records(1000, partitions=2)
    scratch = _fresh(writer)
    scratch.table = _table_like(writer)
    batch = scratch.prepare(records, {})

    def put_old(part: int, rows: pa.Table, first: int, last: int) -> None:
        old = rows.cast(LAKE_SCHEMA.remove_metadata(), safe=False)
        sink = io.BytesIO()
        pq.write_table(old, sink, compression="zstd")
        key = (f"{old_prefix}/event_date=2019-02-03/event_hour=04/"
               f"{TOPIC}-p{part:03d}-{first:020d}-{last:020d}.parquet")  # fmt: skip
        writer.store.put(key, sink.getvalue())

    for part in batch.partitions:
        [data] = part.data
        put_old(part.partition, pq.read_table(io.BytesIO(data)), part.first, part.last)
        state = {"last_offset": part.last - 100}  # the last 100 offsets: an incomplete batch
        writer.store.put(
            f"_checkpoints/{old_prefix}/{TOPIC}/p{part.partition:03d}/state.json",
            json.dumps(state).encode(),
        )
    # A copy of partition 0's first rows in another file (the old lake's duplicate).
    first = pq.read_table(io.BytesIO(batch.partitions[0].data[0])).slice(0, 10)
    put_old(0, first, 0, 9)

    result = convert_parquet_layout(writer.store, writer.table, TOPIC, old_prefix)
    assert result.offsets == {0: 399, 1: 399}
    assert (result.duplicates, result.rows_uncommitted) == (10, 200)
    assert result.rows_written == _expected(records).total() - 200
    assert writer.table.offsets(TOPIC, [0, 1]) == {0: 399, 1: 399}
    expected = Counter(
        (r.partition, r.offset) for r in records if b"never" not in r.value and r.offset <= 399
    )
    assert _offsets_in_lake(writer) == expected
    with pytest.raises(InvalidInputError):
        convert_parquet_layout(writer.store, writer.table, TOPIC, old_prefix)
    # The writers resume after the converted offsets.
    rest = _fresh(writer).write(records)
    assert rest.skipped == 800
    assert _offsets_in_lake(writer) == _expected(records)


def _table_like(writer: LakeWriter) -> LakeTable:
    """Another empty table on the same store (a scratch one)."""
    return LakeTable(f"{writer.table.uri}-scratch", writer.table.storage_options)
