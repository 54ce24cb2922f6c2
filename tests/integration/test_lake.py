"""The lake on the real stack: real hours of every era, typed rows, CLI, dead letters, metrics."""

from __future__ import annotations

import gzip
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import chdb
import httpx
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from ghlake.cli.main import app
from ghlake.events.normalize import normalize_line
from ghlake.events.schema import EVENT_COLUMNS
from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.lake.listing import list_partitions
from ghlake.lake.reader import count_by_source_hour
from ghlake.lake.schema import TABLE_SCHEMA
from ghlake.platform import Platform
from ghlake.services.duckdb_env import duckdb_counts
from ghlake.synth import SynthConfig
from ghlake.synth.hourfile import generate_hour
from ghlake.warehouse.client import WarehouseClient
from tests.conftest import read_dead_letters, replay
from tests.integration.test_faults import assert_lake_equals_source, wait_lake_holds

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _snapshot(platform: Platform, columns: list[str] | None = None) -> pa.Table:
    """The latest version of the lake's Delta table (only ``columns`` when given)."""
    return platform.lake_table.dataset().to_table(columns=columns)


def test_every_real_hour_of_every_era_is_in_the_lake_once(
    platform: Platform, real_hours: dict[str, int], gharchive_dir: Path
) -> None:
    results = wait_lake_holds(platform, gharchive_dir, sorted(real_hours), timeout=300)
    assert_lake_equals_source(results)
    by_hour = {r.hour: r for r in results}
    # Timeline hours are US-Pacific file hours: their events fall in two UTC event hours.
    assert by_hour["2014-02-15-0"].partitions == ("2014-02-15/08", "2014-02-15/09")
    assert by_hour["2015-01-01-1"].partitions == ("2015-01-01/01",)


def test_counts_per_source_hour_from_the_log_equal_a_whole_reading(
    platform: Platform, real_hours: dict[str, int], gharchive_dir: Path
) -> None:
    assert_lake_equals_source(wait_lake_holds(platform, gharchive_dir, sorted(real_hours), 300))
    table = platform.lake_table
    version = table.version()
    rows = table.dataset(version).to_table(columns=["source_hour"])
    plain = Counter(rows.column("source_hour").to_pylist())
    assert count_by_source_hour(table, platform.store, version=version) == dict(plain)
    some = sorted(real_hours)[:3]
    assert count_by_source_hour(table, platform.store, some, version) == {h: plain[h] for h in some}
    assert {h: plain[h] for h in real_hours} == real_hours, "the lake holds every real line"


def _fingerprint(pairs: Iterable[tuple[int, int]]) -> tuple[int, int, int]:
    """Count, and two wrapping UInt64 sums, of (event_key, created_at seconds) pairs."""
    count = keys = mixed = 0
    for key, created in pairs:
        count += 1
        keys = (keys + key) % 2**64
        mixed = (mixed + (key ^ created)) % 2**64
    return count, keys, mixed


def test_lake_and_warehouse_key_every_event_alike(
    platform: Platform, real_hours_reconciled: list[HourCounts]
) -> None:
    """Per real hour, the (event_key, created_at) pairs of both stores agree, in every era
    (the Timeline hours have no ids: both key those events by cityHash64 of the line)."""
    hours = sorted(c.hour for c in real_hours_reconciled)
    lake: dict[str, set[tuple[int, int]]] = {h: set() for h in hours}
    table = _snapshot(platform, ["source_hour", "event_key", "created_at"])
    created = table.column("created_at").cast("int64").to_pylist()  # microseconds
    for hour, key, micros in zip(
        table.column("source_hour").to_pylist(),
        table.column("event_key").cast(pa.uint64()).to_pylist(),  # decimal(20,0): exact
        created,
        strict=True,
    ):
        if hour in lake:
            lake[hour].add((key, micros // 10**6))
    client = WarehouseClient(platform.settings.warehouse.url, token=platform.settings.api_token)
    try:
        result = client.sql(
            "SELECT source_hour, count(), sum(event_key), "
            "sum(bitXor(event_key, toUInt64(toUnixTimestamp(created_at)))) "
            "FROM github_events FINAL WHERE source_hour IN ("
            + ", ".join(f"'{Hour.parse(h).name}'" for h in hours)
            + ") GROUP BY source_hour"
        )
    finally:
        client.close()
    warehouse = {row[0]: tuple(int(v) for v in row[1:]) for row in result.rows}
    assert warehouse == {h: _fingerprint(lake[h]) for h in hours}
    assert any(key > 2**40 for key, _ in lake["2012-06-14-15"]), "Timeline keys are hashes"


@pytest.mark.parametrize("hour", ["2011-02-15-0", "2012-06-14-15", "2015-01-01-1"])
def test_lake_rows_are_the_normalizer_rows_of_the_source(
    platform: Platform, real_hours: dict[str, int], gharchive_dir: Path, hour: str
) -> None:
    assert_lake_equals_source(wait_lake_holds(platform, gharchive_dir, [hour], timeout=300))
    file_time = int(Hour.parse(hour).start.timestamp())
    expected = {}
    lines = {}
    with gzip.open(gharchive_dir / f"{hour}.json.gz", "rb") as handle:
        for raw in handle:
            row = normalize_line(
                raw.rstrip(b"\n"), source="gharchive", source_hour=hour, file_time=file_time
            )
            values = dict(zip(EVENT_COLUMNS, row, strict=True))
            expected[(values["event_key"], values["created_at"])] = values
            lines[(values["event_key"], values["created_at"])] = raw.rstrip(b"\n")
    found = 0
    dataset = platform.lake_table.dataset()
    assert set(dataset.schema.names) == set(TABLE_SCHEMA.names)
    table = dataset.to_table(filter=pa.compute.field("source_hour") == hour)
    for row in table.to_pylist():
        seconds = {k: int(v.timestamp()) for k, v in row.items() if hasattr(v, "timestamp")}
        row.update(seconds)
        # Unsigned columns come back in the next signed type or as decimal(20,0): the
        # same numbers (a Decimal equals, and hashes as, the int it holds).
        identity = (int(row["event_key"]), row["created_at"])
        assert {k: row[k] for k in EVENT_COLUMNS} == expected[identity]
        assert row["raw"] == lines[identity], "the original line, byte for byte"
        found += 1
    assert found == len(expected) == real_hours[hour]


def test_lake_ls_and_verify_commands(
    platform: Platform, real_hours: dict[str, int], gharchive_dir: Path, tmp_path: Path
) -> None:
    assert_lake_equals_source(wait_lake_holds(platform, gharchive_dir, ["2014-02-15-0"]))
    runner = CliRunner()
    ok = runner.invoke(
        app, ["lake", "verify", "--hour", "2014-02-15-0", "--source", str(gharchive_dir)]
    )
    assert ok.exit_code == 0, ok.output
    assert "exactly once" in ok.output

    never_published = "2019-09-09-9"  # generated here, never replayed: all of it is missing
    lines = list(generate_hour(Hour.parse(never_published), SynthConfig(events_per_hour=50)))
    with gzip.open(tmp_path / f"{never_published}.json.gz", "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")
    missing = runner.invoke(
        app, ["lake", "verify", "--hour", never_published, "--source", str(tmp_path)]
    )
    assert missing.exit_code == 1
    assert "missing" in missing.output

    listing = runner.invoke(app, ["lake", "ls"])
    assert listing.exit_code == 0, listing.output
    assert "2014-02-15" in listing.output
    partitions = list_partitions(platform.lake_table)
    assert {p.event_date for p in partitions} >= {"2011-02-15", "2015-01-01"}
    assert sum(p.rows for p in partitions) >= sum(real_hours.values())
    history = runner.invoke(app, ["lake", "history", "--limit", "3"])
    assert history.exit_code == 0, history.output
    assert "WRITE" in history.output


def test_events_the_normalizer_cannot_map_go_to_the_dead_letter_topic(
    platform: Platform, tmp_path: Path
) -> None:
    hour = "2019-10-10-10"
    good = list(generate_hour(Hour.parse(hour), SynthConfig(events_per_hour=200, seed=4)))
    who = b'"actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/r"}'
    unknown = (
        b'{"id":"10700000001","type":"FancyNewEvent",'
        + who
        + b',"payload":{},"created_at":"2019-10-10T10:00:00Z"}'
    )
    bad_payload = (
        b'{"id":"10700000002","type":"PushEvent",'
        + who
        + b',"payload":[],"created_at":"2019-10-10T10:00:01Z"}'
    )
    with gzip.open(tmp_path / f"{hour}.json.gz", "wb") as handle:
        handle.write(b"\n".join([*good[:100], unknown, *good[100:], bad_payload]) + b"\n")
    [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
    assert report.published == 202, "the producer only rejects lines that are not events"

    [result] = wait_lake_holds(platform, tmp_path, [hour])
    assert result.ok, result
    assert (result.source_lines, result.source_events, result.lake_rows) == (202, 200, 200)
    deadline = time.monotonic() + 60
    while True:
        letters = {v: h for v, h in read_dead_letters(platform) if h.get("hour") == hour.encode()}
        if len(letters) == 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert letters[unknown]["reason"] == b"unknown event type 'FancyNewEvent'"
    assert letters[bad_payload]["reason"].startswith(b"payload is a list")
    assert {"kafka_partition", "kafka_offset", "line", "source"} <= set(letters[unknown])


def _metrics(platform: Platform) -> dict[str, float]:
    lake = platform.settings.lake
    text = httpx.get(f"http://{lake.web_host}:{lake.web_port}/metrics", timeout=5).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_worker_metrics_cover_events_rows_files_latency_dead_letters_and_lag(
    platform: Platform, tmp_path: Path
) -> None:
    hour = "2019-10-11-3"
    lines = list(generate_hour(Hour.parse(hour), SynthConfig(events_per_hour=300, seed=8)))
    broken = (
        b'{"id":"10700000003","type":"WatchEvent","created_at":"2019-10-11T03:00:00Z","payload":7}'
    )
    with gzip.open(tmp_path / f"{hour}.json.gz", "wb") as handle:
        handle.write(b"\n".join([*lines, broken]) + b"\n")
    replay(platform, str(tmp_path), [Hour.parse(hour)])
    [result] = wait_lake_holds(platform, tmp_path, [hour])
    assert result.ok, result
    deadline = time.monotonic() + 60
    while True:  # lag is measured every few seconds; everything published is consumed
        metrics = _metrics(platform)
        lag = {k: v for k, v in metrics.items() if k.startswith("ghlake_lake_consumer_lag{")}
        if (lag and not any(lag.values())) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(lag) == platform.settings.kafka.partitions, lag
    assert not any(lag.values()), lag
    for name in (
        "ghlake_lake_events_in_total",
        "ghlake_lake_rows_written_total",
        "ghlake_lake_files_written_total",
        "ghlake_lake_batch_seconds_count",
        "ghlake_lake_dead_letters_total",
    ):
        assert metrics[name] > 0, name
    assert metrics["ghlake_lake_stalled"] == 0
    assert any(k.startswith("ghlake_lake_stored_offset{") for k in metrics)


def test_the_lake_writer_keeps_its_state_under_ghlake_home(platform: Platform) -> None:
    folder = (
        platform.settings.state_dir
        / "faust"
        / f"{platform.settings.lake.consumer_group}-worker-data"
    )
    assert folder.is_dir(), "Faust's data folder is under GHLAKE_HOME"
    assert not list(Path.cwd().glob("*-worker-data")), "nothing in the working directory"


def test_chdb_delta_lake_counts_equal_the_ledger_for_every_real_hour(
    platform: Platform, real_hours_reconciled: list[HourCounts]
) -> None:
    """chDB's deltaLake() reads the same table over MinIO: one count per real hour."""
    settings = platform.settings
    uri = f"http://{settings.minio.endpoint}/{settings.minio.bucket}/{platform.lake_table.prefix}/"
    hours = {c.hour.name: c.published for c in real_hours_reconciled}
    query = (
        f"SELECT source_hour, count(), uniqExact(toUInt64(event_key), created_at) "
        f"FROM deltaLake('{uri}', '{settings.minio_access_key}', '{settings.minio_secret_key}') "
        f"WHERE source_hour IN ({', '.join(repr(h) for h in hours)}) GROUP BY source_hour"
    )
    found = {}
    for line in chdb.query(query, "TSV").bytes().decode().splitlines():
        hour, count, distinct = line.split("\t")
        found[hour] = (int(count), int(distinct))
    assert found == {h: (n, n) for h, n in hours.items()}


def test_duckdb_delta_extension_counts_equal_the_ledger_for_every_real_hour(
    platform: Platform, real_hours_reconciled: list[HourCounts]
) -> None:
    """DuckDB 1.4.4's delta extension (PyPI's duckdb-ext-delta, its own venv) reads it too."""
    hours = {c.hour.name: c.published for c in real_hours_reconciled}
    table = f"s3://{platform.settings.minio.bucket}/{platform.lake_table.prefix}"
    found = duckdb_counts(platform.settings, table, hours)
    assert found == {h: (n, n) for h, n in hours.items()}


def test_a_forced_replay_of_a_real_hour_leaves_verify_and_reconcile_green(
    platform: Platform,
    real_hours: dict[str, int],
    real_hours_reconciled: list[HourCounts],
    gharchive_dir: Path,
) -> None:
    """The hour goes on the topic a second time; the lake keeps each event once."""
    hour = "2012-06-14-15"  # Timeline: id-less events keyed by cityHash64 of the line
    rows_before = platform.lake_table.dataset().count_rows()
    [report] = replay(platform, str(gharchive_dir), [Hour.parse(hour)], force=True)
    assert report.published == real_hours[hour]
    deadline = time.monotonic() + 180
    topic, partitions = platform.settings.kafka.topic, platform.settings.kafka.partitions
    while True:  # the writer has committed past the copies: every partition's end
        stored = platform.lake_table.offsets(topic, list(range(partitions)))
        ends = _topic_ends(platform)
        if all(stored[p] >= ends[p] - 1 for p in ends if ends[p] > 0):
            break
        assert time.monotonic() < deadline, (stored, ends)
        time.sleep(1)
    assert platform.lake_table.dataset().count_rows() == rows_before, "no event twice"
    assert_lake_equals_source(wait_lake_holds(platform, gharchive_dir, [hour]))
    counts = platform.reconciler.wait({hour: report.published}, timeout=180)
    assert all(c.reconciled for c in counts), counts
    runner = CliRunner()
    ok = runner.invoke(app, ["lake", "verify", "--hour", hour, "--source", str(gharchive_dir)])
    assert ok.exit_code == 0, ok.output
    reconciled = runner.invoke(app, ["reconcile", "--from", hour, "--to", hour])
    assert reconciled.exit_code == 0, reconciled.output


def _topic_ends(platform: Platform) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition  # noqa: PLC0415

    consumer = Consumer(
        {"bootstrap.servers": platform.settings.kafka.bootstrap, "group.id": "ghlake-test-ends"}
    )
    try:
        topic = platform.settings.kafka.topic
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(platform.settings.kafka.partitions)
        }
    finally:
        consumer.close()
