"""Spark against the real stack: the notebooks run headless, a job on a standalone cluster.

One fixture for the suite (:func:`spark`) installs the Spark environment (its venv and
jars from the cache; the first run on a machine fetches them) and starts a master with one
worker on free ports. Each notebook runs with papermill in the environment's own kernel
(``ghlake-spark``), its streams with ``availableNow`` so it ends, and writes its answers to
a JSON file that the test compares with the warehouse, the topic or the source files.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from ghlake.events.identity import EventIdentity, identity_fields, parse_event
from ghlake.events.provenance import Provenance
from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.kafka.ranges import delete_group
from ghlake.kafka.readback import end_offsets
from ghlake.lake.table import LakeTable
from ghlake.platform import Platform
from ghlake.services.spark import SparkEnvironment
from tests.conftest import REPO_ROOT, event_line

NOTEBOOKS = REPO_ROOT / "spark" / "notebooks"
DAY = date(2015, 1, 1)  # the day of the real hours 2015-01-01-1, -3 and -4
HOUR = Hour.parse("2015-01-01-3")

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def spark(platform: Platform) -> Iterator[SparkEnvironment]:
    """The Spark environment, installed, and its cluster (a master, one worker) running for
    this suite (one fixture: the suite is this module), then stopped and its groups gone."""
    started = time.monotonic()
    platform.spark.install()
    installed = time.monotonic()
    platform.stack.group_up("spark")
    print(f"\nSpark: install {installed - started:.1f} s (0 when cached), cluster up "
          f"{time.monotonic() - installed:.1f} s")  # fmt: skip
    try:
        yield platform.spark
    finally:
        platform.stack.group_down("spark")
        # The notebooks' queries committed their progress to groups (for lag monitoring);
        # they are done, and would stay behind as inactive, lagging groups for later suites.
        bootstrap = platform.settings.kafka.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})  # alive until the answer
        listed = admin.list_consumer_groups().result(timeout=30)
        assert not listed.errors, listed.errors
        prefix = platform.spark.consumer_group("")
        spark_groups = [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]
        assert spark_groups, "the notebooks' queries committed their progress"
        for group in spark_groups:
            delete_group(bootstrap, group)


def run_notebook(
    spark: SparkEnvironment, name: str, out: Path, **parameters: object
) -> dict[str, Any]:
    """Execute ``spark/notebooks/<name>.ipynb`` headless in the Spark kernel; its result JSON."""
    result = out / f"{name}-{uuid.uuid4().hex[:8]}.json"
    values = {"master": "local[2]", **parameters, "result_path": result}
    params = [arg for key, value in values.items() for arg in ("-p", key, str(value))]
    notebook, executed = NOTEBOOKS / f"{name}.ipynb", result.with_suffix(".ipynb")
    argv = [str(spark.python), "-m", "papermill", "--kernel", "ghlake-spark",
            "--no-progress-bar", str(notebook), str(executed), *params]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    print(f"\nnotebook {name}: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, f"{name} failed:\n{_error_of(done.stderr)}"
    return dict(json.loads(result.read_text()))


def _error_of(output: str) -> str:
    """The lines of a papermill failure that say what failed (not Spark's warnings)."""
    lines = [line for line in output.splitlines() if " WARN " not in line]
    return "\n".join(lines[-40:])


def _committed(platform: Platform, group: str, partitions: list[int]) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": platform.settings.kafka.bootstrap,
                         "group.id": group, "enable.auto.commit": False})  # fmt: skip
    try:
        topic = platform.settings.kafka.topic
        wanted = [TopicPartition(topic, p) for p in partitions]
        return {tp.partition: tp.offset for tp in consumer.committed(wanted, timeout=10)}
    finally:
        consumer.close()


def test_live_events_counts_by_type_equal_the_warehouse_and_its_lag_is_on_the_broker(
    platform: Platform, spark: SparkEnvironment, real_hours_reconciled: list[HourCounts],
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = platform.settings.kafka
    before = end_offsets(settings.bootstrap, settings.topic)
    counts = run_notebook(spark, "live_events", tmp_path, hour=HOUR.name)
    warehouse = platform.warehouse.event_type_counts(HOUR.start, HOUR.end)
    assert counts == {row.event_type: row.events for row in warehouse}
    assert sum(counts.values()) > 1000, "a real hour's events"

    # The listener committed each query's end offsets to its group: lag monitors see Spark.
    after = end_offsets(settings.bootstrap, settings.topic)
    group = spark.consumer_group("live_events_by_type")
    committed = _committed(platform, group, sorted(before))
    for partition, offset in committed.items():
        assert before[partition] <= offset <= after[partition], (partition, offset)


def _spark_table(platform: Platform, table: str) -> LakeTable:
    lake = platform.settings.lake.model_copy(update={"table": table})
    return LakeTable.from_settings(platform.settings.model_copy(update={"lake": lake}))


def _identities_in_table(platform: Platform, table: str) -> list[tuple[int, int]]:
    rows = _spark_table(platform, table).snapshot().to_pyarrow_table(
        columns=["event_key", "created_at"]
    )  # fmt: skip
    keys, times = rows["event_key"].to_pylist(), rows["created_at"].to_pylist()
    return sorted((int(k), int(t.timestamp())) for k, t in zip(keys, times, strict=True))


def _identity(line: bytes) -> tuple[int, int]:
    event_id, _, created, *_ = identity_fields(parse_event(line))
    return tuple(EventIdentity.of(event_id, created, line))  # type: ignore[return-value]


def test_topic_to_lake_is_exactly_once_across_a_restart(
    platform: Platform, spark: SparkEnvironment, tmp_path: Path
) -> None:
    """From the topic's end at the start of the test, so the rest of the session does not
    matter: events, a restart with new events and some of the first ones published again."""
    table = f"spark_events_{uuid.uuid4().hex[:8]}"
    settings = platform.settings.kafka
    start = end_offsets(settings.bootstrap, settings.topic)
    starting = json.dumps({settings.topic: {str(p): offset for p, offset in start.items()}})
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    lines = [event_line("PushEvent", n, at + timedelta(seconds=n), "spark-test", "ghlake/spark",
                        ids=(990_000_000, 7_000_000, 8_000_000)) for n in range(100)]  # fmt: skip
    publisher = platform.publisher()

    def publish(batch: list[bytes]) -> None:
        provenance = Provenance("live", "2024-05-01-12", at.isoformat())
        assert publisher.publish_lines(batch, provenance).published == len(batch)

    publish(lines[:60])
    first = run_notebook(spark, "topic_to_lake", tmp_path, table=table, starting_offsets=starting)
    assert first["batches"], "the first run read the topic"
    assert first["rows"] == 60

    # While the query is stopped: 40 new events, and 20 of the first published again.
    publish(lines[60:] + lines[:20])
    second = run_notebook(spark, "topic_to_lake", tmp_path, table=table, starting_offsets=starting)
    assert min(second["batches"]) > max(first["batches"]), "resumed from the checkpoint"
    assert second["rows"] == 100
    assert _identities_in_table(platform, table) == sorted(_identity(line) for line in lines)


def test_lake_analytics_top_repositories_equal_the_warehouse(
    spark: SparkEnvironment, real_hours_reconciled: list[HourCounts], tmp_path: Path
) -> None:
    answers = run_notebook(spark, "lake_analytics", tmp_path, top=10, first_day=DAY, last_day=DAY)
    assert answers["spark"], "stars in the real hours"
    assert answers["spark"] == answers["warehouse"]


def test_replay_reads_each_source_hour_of_a_past_range_again(
    spark: SparkEnvironment, real_hours: dict[str, int], tmp_path: Path
) -> None:
    table = f"spark_replay_{uuid.uuid4().hex[:8]}"
    counts = run_notebook(spark, "replay", tmp_path, table=table,
                          first_hour="2015-01-01-1", last_hour="2015-01-01-4")  # fmt: skip
    expected = {h: n for h, n in real_hours.items() if "2015-01-01-1" <= h <= "2015-01-01-4"}
    assert counts == expected


def test_repository_stats_job_runs_on_the_cluster(
    platform: Platform, spark: SparkEnvironment, real_hours_reconciled: list[HourCounts]
) -> None:
    table = f"repository_stats_{uuid.uuid4().hex[:8]}"
    submit = spark.spark_home / "bin" / "spark-submit"
    argv = [str(submit), "--master", platform.settings.spark.cluster_url,
            str(REPO_ROOT / "spark" / "jobs" / "repository_stats.py"),
            "--day", DAY.isoformat(), "--table", table]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600,
                          env=_with(spark.env()))  # fmt: skip
    print(f"\njob repository_stats on the cluster: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, _error_of(done.stdout + done.stderr)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["repositories"] > 100

    # It ran on the cluster: the master lists the application as completed.
    master_ui = f"http://{platform.settings.spark.host}:{platform.settings.spark.master_ui_port}"
    apps = httpx.get(f"{master_ui}/json/", timeout=10).json()["completedapps"]
    assert f"ghlake-repository-stats-{DAY}" in {app["name"] for app in apps}

    rows = _spark_table(platform, table).snapshot().to_pyarrow_table().to_pylist()
    by_stars = sorted(rows, key=lambda r: (-r["stars"], r["repo_name"]))[:10]
    warehouse = platform.warehouse.top_repositories("stars", DAY, DAY + timedelta(days=1))
    assert [(r["repo_name"], r["stars"]) for r in by_stars] == [
        (rank.repo_name, rank.value) for rank in warehouse
    ]


def _with(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}
