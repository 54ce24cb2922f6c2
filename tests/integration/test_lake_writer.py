"""The writer's recovery protocol step by step against the real MinIO of the stack.

A crash is the writer's steps stopping where a kill -9 would stop them; a restart is a
new LakeWriter on the same bucket. The worker-level kill -9 tests are in test_faults.py.
"""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter

import pyarrow.parquet as pq
import pytest

from ghlake.events.schema import EVENT_SCHEMA
from ghlake.hours import Hour
from ghlake.lake.reader import count_by_source_hour
from ghlake.lake.schema import LAKE_SCHEMA, SOURCE_HOURS_KEY
from ghlake.lake.writer import LakeWriter, SourceRecord
from ghlake.platform import Platform
from ghlake.synth import SynthConfig
from ghlake.synth.hourfile import generate_hour

pytestmark = [pytest.mark.integration]

TOPIC = "test.events"


def _records(count: int, partitions: int = 2) -> list[SourceRecord]:
    """Generated 2019 events spread over partitions, plus one line that is not an event."""
    hour = Hour.parse("2019-02-03-4")
    headers = {
        "source": b"gharchive",
        "hour": hour.name.encode(),
        "file_time": b"2019-02-03T04:00:00Z",
    }
    lines = list(generate_hour(hour, SynthConfig(events_per_hour=count - 1, seed=11)))
    lines.insert(count // 3, b'{"type":"PushEvent","created_at":"never"}')
    offsets = [0] * partitions
    records = []
    for n, line in enumerate(lines):
        partition = n % partitions
        records.append(SourceRecord(partition, offsets[partition], line, headers))
        offsets[partition] += 1
    return records


@pytest.fixture
def writer(platform: Platform) -> LakeWriter:
    return LakeWriter(platform.store, TOPIC, f"test-writer-{uuid.uuid4().hex[:8]}")


def _offsets_in_lake(writer: LakeWriter) -> Counter[tuple[int, int]]:
    found: Counter[tuple[int, int]] = Counter()
    for info in writer.store.list(f"{writer.prefix}/"):
        table = pq.read_table(io.BytesIO(writer.store.get(info.key)))
        assert table.schema.equals(LAKE_SCHEMA), info.key
        pairs = zip(
            table.column("kafka_partition").to_pylist(),
            table.column("kafka_offset").to_pylist(),
            strict=True,
        )
        found.update(pairs)
    return found


def _expected(records: list[SourceRecord]) -> Counter[tuple[int, int]]:
    return Counter((r.partition, r.offset) for r in records if b"never" not in r.value)


def _fresh(writer: LakeWriter) -> LakeWriter:
    """The same lake seen by a restarted process."""
    return LakeWriter(writer.store, writer.topic, writer.prefix)


def test_a_crash_mid_upload_is_cleaned_up_and_batches_cut_elsewhere_do_not_duplicate(
    writer: LakeWriter,
) -> None:
    records = _records(3000)
    first = records[:2000]
    recovered = writer.recover({0, 1})
    batch = writer.prepare(first, {p: r.last_offset for p, r in recovered.items()})
    # Crash in the middle of the upload: the intent and one object of partition 0 are stored.
    part = batch.partitions[0]
    writer.checkpoints.begin(part.intent)
    writer.store.put(part.files[0].key, part.data[0])
    assert _offsets_in_lake(writer)

    restarted = _fresh(writer)
    # Records come back from the committed offset (none), cut into other batches.
    result = restarted.write(records[:1100])
    assert result.removed == len(part.intent.keys)
    assert restarted.write(records[1100:]).removed == 0
    assert _offsets_in_lake(restarted) == _expected(records), "every event once"
    assert restarted.checkpoints.pending(0) is None


def test_records_stored_before_a_crash_are_skipped_not_written_twice(writer: LakeWriter) -> None:
    records = _records(3000)
    # The batch and its checkpoint are stored; the worker dies before the offset commit.
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


def test_a_crash_after_the_upload_before_the_checkpoint_rewrites_the_batch(
    writer: LakeWriter,
) -> None:
    records = _records(2000)
    batch = writer.prepare(records, {})
    writer.upload(batch)  # every object stored, then the process dies before commit()
    restarted = _fresh(writer)
    assert restarted.checkpoints.pending(0) is not None
    result = restarted.write(records[:500])
    assert result.removed == len(batch.files)
    restarted.write(records[500:])
    assert _offsets_in_lake(restarted) == _expected(records)


def test_files_hold_the_typed_schema_partitioned_by_event_hour(writer: LakeWriter) -> None:
    records = _records(1200, partitions=1)
    result = writer.write(records)
    assert {tuple(f.key.split("/")[1:3]) for f in result.files} == {
        ("event_date=2019-02-03", "event_hour=04")
    }
    [file] = result.files
    assert file.key.endswith(f"{TOPIC}-p000-{0:020d}-{len(records) - 1:020d}.parquet")
    table = pq.read_table(io.BytesIO(writer.store.get(file.key)))
    assert table.num_rows == 1199
    assert table.schema.names[: len(EVENT_SCHEMA)] == EVENT_SCHEMA.names
    assert set(table.column("source_hour").to_pylist()) == {"2019-02-03-4"}
    metadata = pq.read_metadata(io.BytesIO(writer.store.get(file.key)))
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_counts_per_source_hour_come_from_footers_or_row_groups(writer: LakeWriter) -> None:
    hours = [b"2019-02-03-4", b"2019-02-03-5", b"2019-02-03-6"]
    records = [  # three source hours interleaved, as when replays overlap
        r._replace(headers={**r.headers, "hour": hours[n % 3]})
        for n, r in enumerate(_records(900, partitions=1))
    ]
    writer.write(records)
    expected = Counter(r.headers["hour"].decode() for r in records if b"never" not in r.value)
    [written] = list(writer.store.list(f"{writer.prefix}/"))
    data = writer.store.get(written.key)
    footer = pq.read_metadata(io.BytesIO(data)).metadata
    assert json.loads(footer[SOURCE_HOURS_KEY.encode()]) == expected
    table = pq.read_table(io.BytesIO(data))

    # A file without footer counts (written before them), several hours per row group.
    legacy = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(EVENT_SCHEMA.metadata), legacy, row_group_size=64)
    writer.store.put(f"{writer.prefix}/legacy/part.parquet", legacy.getvalue())
    assert SOURCE_HOURS_KEY.encode() not in pq.read_metadata(io.BytesIO(legacy.getvalue())).metadata

    both = {hour: 2 * n for hour, n in expected.items()}
    assert count_by_source_hour(writer.store, writer.prefix) == both
    assert count_by_source_hour(writer.store, writer.prefix, ["2019-02-03-5"]) == {
        "2019-02-03-5": both["2019-02-03-5"]
    }
