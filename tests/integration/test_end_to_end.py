"""A real GH Archive hour through the real broker into the real lake and warehouse."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import httpx
import pyarrow.compute as pc
import pytest

from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.platform import Platform
from ghlake.synth import SynthConfig, write_hour
from ghlake.warehouse.queries import DEAD_LETTERS, HOUR_STAGES
from tests.conftest import read_dead_letters, replay, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REAL_HOUR = "2015-01-01-1"


def test_real_hours_reach_kafka_lake_and_warehouse(
    real_hours: dict[str, int], real_hours_reconciled: list[HourCounts]
) -> None:
    assert real_hours[REAL_HOUR] == 7427  # as SOURCES.md says; guards against a changed fixture
    assert len(real_hours) == 8, "every whole hour of ../shared/data/gharchive, every era"
    for counts in real_hours_reconciled:
        lines = real_hours[counts.hour]
        assert counts.published == lines
        assert counts.lake == lines, f"{counts.hour}: events in the lake (Parquet in MinIO)"
        assert counts.warehouse == lines, (
            f"{counts.hour}: events in github_events (chDB Kafka engine)"
        )


def test_broken_lines_go_to_the_dead_letter_topic(platform: Platform, tmp_path: Path) -> None:
    hour = "2016-03-01-7"
    valid = [
        b'{"id":"3700000001","type":"WatchEvent","actor":{"id":1,"login":"a"},'
        b'"repo":{"id":42,"name":"o/r"},"payload":{"action":"started"},"public":true,'
        b'"created_at":"2016-03-01T07:00:01Z"}',
        b'{"id":"3700000002","type":"ForkEvent","actor":{"id":2,"login":"b"},'
        b'"repo":{"id":42,"name":"o/r"},"payload":{},"public":true,'
        b'"created_at":"2016-03-01T07:10:00Z"}',
    ]
    broken = b'{"id":"3700000003","type":"PushEvent","actor":{"id":3'
    with gzip.open(tmp_path / f"{hour}.json.gz", "wb") as handle:
        handle.write(valid[0] + b"\n" + broken + b"\n" + valid[1] + b"\n")

    [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
    assert (report.lines, report.published, report.dead_lettered) == (3, 2, 1)

    letters = read_dead_letters(platform)
    mine = [m for m in letters if m[1].get("hour") == hour.encode()]
    assert len(mine) == 1
    value, headers = mine[0]
    assert value == broken
    assert headers["line"] == b"2"
    assert headers["reason"].startswith(b"not JSON")

    [counts] = platform.reconciler.wait({hour: 2}, timeout=120)
    assert counts.reconciled

    # The warehouse reads the dead-letter topic too (its own consumer group), so dashboards
    # show each letter with its reason and provenance.
    def letters_in_warehouse() -> list[dict[str, object]]:
        rows = platform.warehouse.query(DEAD_LETTERS, limit=1000)
        return [r for r in rows if r["source_hour"] == hour]

    wait_for(letters_in_warehouse, timeout=60)
    [row] = letters_in_warehouse()
    assert row["raw"] == broken.decode()
    assert row["source_line"] == 2
    assert str(row["reason"]).startswith("not JSON")
    assert row["kafka_topic"] == platform.settings.kafka.dead_letter_topic


def test_down_leaves_no_process_and_up_restarts_with_the_data(
    platform: Platform, real_hours: dict[str, int], real_hours_reconciled: list[HourCounts]
) -> None:
    before = {s.name: s.pid for s in platform.stack.status()}
    again = platform.stack.up()
    assert all(not s.changed for s in again), "a second up is a no-op"
    assert {s.name: s.pid for s in again} == before

    platform.stack.down()
    assert all(not s.running for s in platform.stack.status())
    home = str(platform.settings.state_dir)
    assert not _processes_mentioning(home), "no process of the stack may survive `down`"
    for name, pid in before.items():
        assert pid is not None
        assert not Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) still runs after down"

    platform.stack.up()
    counts = platform.reconciler.wait(real_hours, timeout=120)
    assert all(c.reconciled for c in counts), "data survives a restart of the whole stack"


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def test_reconcile_names_the_hours_that_differ(
    platform: Platform,
    api_client: httpx.Client,
    real_hours_reconciled: list[HourCounts],
    tmp_path: Path,
) -> None:
    counts = {
        c.hour: c
        for c in platform.reconciler.reconcile(
            Hour.parse("2015-01-01-0"), Hour.parse("2015-01-01-5")
        )
    }
    assert set(counts) == {"2015-01-01-1", "2015-01-01-3", "2015-01-01-4"}
    assert all(c.reconciled for c in counts.values())

    # An hour whose lake loses events (a commit deleting one partition's rows of it) no
    # longer reconciles, and is named.
    hour = Hour.parse("2016-11-11-11")
    write_hour(hour, tmp_path, SynthConfig(events_per_hour=500, seed=11))
    [report] = replay(platform, str(tmp_path), [hour])
    [before] = platform.reconciler.wait({hour.name: report.published}, timeout=120)
    assert before.reconciled
    held = platform.lake_table.dataset().to_table(
        columns=["kafka_partition"], filter=pc.field("source_hour") == hour.name
    )
    victim = min(held.column("kafka_partition").to_pylist())
    platform.lake_table.table().delete(
        f"source_hour = '{hour.name}' AND kafka_partition = {victim}"
    )
    body = api_client.get("/v1/reconcile", params={"from": hour.name, "to": hour.name}).json()
    assert body["differing"] == [hour.name]
    [row] = body["hours"]
    assert row["published"] == row["warehouse"] == report.published
    assert row["lake"] < report.published

    # Each reconciliation is recorded for the dashboards: the latest check of each hour.
    stages = {s.hour: s for s in platform.warehouse.query(HOUR_STAGES, limit=1000)}
    assert stages[hour.name].reconciled is False
    assert (stages[hour.name].published, stages[hour.name].lake) == (report.published, row["lake"])
    assert stages[hour.name].hour_start == "2016-11-11 11:00:00"
    assert all(stages[h].reconciled for h in counts)
