"""A real Airflow on the real stack: backfills of real hours, a missing hour, compaction.

Airflow (its PostgreSQL, api-server, scheduler with the LocalExecutor, dag-processor,
triggerer) starts once for this module, from the stack's own services, and stops at
its end, so the rest of the session sees the stack without it. The hours come from
../shared/data through a local HTTP mirror, which answers 404 for the hour it lacks.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from ghlake.hours import Hour, hour_range
from ghlake.ledger import HourStatus
from ghlake.orchestration.airflow_api import AirflowClient, follow
from ghlake.platform import Platform
from tests.conftest import count_lines, wait_for

FIRST, LAST = Hour.parse("2015-01-01-1"), Hour.parse("2015-01-01-4")
MISSING = "2015-01-01-2"  # not in ../shared/data: the mirror answers 404
REAL = ["2015-01-01-1", "2015-01-01-3", "2015-01-01-4"]
DAGS = {"gharchive_hourly", "lake_compaction", "topic_replay"}


@pytest.fixture(scope="module")
def airflow(platform: Platform) -> Iterator[AirflowClient]:
    """Airflow up (installed on first use), its DAGs parsed; down at the module's end."""
    platform.stack.group_up("airflow")
    client = platform.airflow()
    try:
        wait_for(lambda: client.dag_ids() >= DAGS, 120)
        yield client
    finally:
        client.close()
        platform.stack.group_down("airflow")


@pytest.fixture(scope="module")
def mirror(gharchive_dir: Path) -> Iterator[str]:
    """The real hour files over HTTP, as a GH Archive mirror."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=gharchive_dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _backfill(airflow: AirflowClient, mirror: str, **options: Any) -> Any:
    created = airflow.create_backfill(FIRST, LAST, conf={"source": mirror}, **options)
    return follow(airflow, created, poll_seconds=2, timeout=420)


def _end_offsets(platform: Platform) -> list[int]:
    kafka = platform.settings.kafka
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "ghlake-test-ends"})
    try:
        partitions = consumer.list_topics(kafka.topic, timeout=10).topics[kafka.topic].partitions
        return [
            consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=10)[1]
            for p in sorted(partitions)
        ]
    finally:
        consumer.close()


def test_a_backfill_reconciles_real_hours_and_fails_the_missing_one(
    platform: Platform, airflow: AirflowClient, mirror: str, gharchive_dir: Path
) -> None:
    progress = _backfill(airflow, mirror)

    assert progress.done, progress
    assert progress.states == {"success": 3, "failed": 1}
    assert progress.failed_hours == [MISSING], "the missing hour fails its run, not hangs"
    records = {r.hour.name: r for r in platform.ledger.hours(FIRST, LAST)}
    assert records[MISSING].status is HourStatus.MISSING
    lines = {hour: count_lines(gharchive_dir / f"{hour}.json.gz") for hour in REAL}
    counts = platform.reconciler.counts({hour: records[hour].published for hour in REAL})
    for c in counts:
        assert records[c.hour.name].status is HourStatus.PUBLISHED
        assert c.published == lines[c.hour.name], "every line of the file is on the topic"
        assert c.reconciled, c


def test_the_backfill_triggers_compaction_which_keeps_every_count(
    platform: Platform, airflow: AirflowClient
) -> None:
    def finished(runs: list[dict[str, Any]]) -> bool:
        triggered = [r for r in runs if r["run_type"] == "asset_triggered"]
        return bool(triggered) and all(r["state"] in ("success", "failed") for r in runs)

    # Each backfilled hour updates the events Asset, which triggers lake_compaction (and its
    # daily run, created when Airflow started, may run meanwhile): wait until all are done.
    wait_for(lambda: finished(airflow.runs("lake_compaction")), 180)
    runs = airflow.runs("lake_compaction")
    assert all(r["state"] == "success" for r in runs), runs
    reports = [airflow.xcom("lake_compaction", r["dag_run_id"], "maintain") for r in runs]
    parsed = [orjson.loads(report) if isinstance(report, str) else report for report in reports]
    compacted = [r for r in parsed if "2015-01-01" in r["partitions"] and r["files_removed"]]
    assert compacted, parsed
    for report in compacted:
        assert report["files_after"] < report["files_before"], "compaction reduces the files"
        assert report["rows_after"] == report["rows_before"], "and keeps every row"
        assert any("github_events PARTITION 201501 FINAL" in s for s in report["optimized"])
    published = {r.hour.name: r.published for r in platform.ledger.hours(FIRST, LAST)}
    counts = platform.reconciler.counts({h: published[h] for h in REAL})
    assert all(c.reconciled for c in counts), counts


def test_the_same_backfill_again_changes_nothing(
    platform: Platform, airflow: AirflowClient, mirror: str
) -> None:
    before = {r.hour.name: r for r in platform.ledger.hours(FIRST, LAST)}
    ends = _end_offsets(platform)

    progress = _backfill(airflow, mirror, reprocess="completed")

    assert progress.done, progress
    assert progress.failed_hours == [MISSING]
    assert _end_offsets(platform) == ends, "nothing was published again"
    after = {r.hour.name: r for r in platform.ledger.hours(FIRST, LAST)}
    for hour in REAL:
        assert after[hour] == before[hour], "a done hour's ledger record is untouched"
    counts = platform.reconciler.counts({h: after[h].published for h in REAL})
    assert all(c.reconciled for c in counts), counts
    assert [h.name for h in hour_range(FIRST, LAST)] == sorted(after)
