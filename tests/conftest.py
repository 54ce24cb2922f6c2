"""Shared fixtures: real data locations and the real stack, started once per session.

The stack (Kafka broker, MinIO, the warehouse service, a lake writer) runs
from a private state directory on free ports, so a developer's own stack on
the default ports is left alone. Downloads and builds come from the shared
cache directory, as for ``ghlake up``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.ingest.replay import HourReport
from ghlake.platform import Platform
from ghlake.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
GHARCHIVE = (REPO_ROOT / ".." / "shared" / "data" / "gharchive").resolve()

# Suites that read the whole events topic or lake (Spark's notebooks replay from the earliest
# offset) run first, while the session's stack holds little more than the real hours.
_EARLY = ("tests/integration/test_spark.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the :data:`_EARLY` suites to the front, each keeping its own order."""
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in _EARLY)


@pytest.fixture(scope="session")
def gharchive_dir() -> Path:
    """The real GH Archive sample files (see its SOURCES.md)."""
    if not GHARCHIVE.is_dir():
        pytest.skip(f"real GH Archive data not found at {GHARCHIVE} (a sibling 'shared' checkout)")
    return GHARCHIVE


def count_lines(path: Path) -> int:
    """Lines in a gzip file, counted plainly."""
    with gzip.open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """GHLAKE_* variables of the test stack, exported so that service processes inherit them."""
    home = tmp_path_factory.mktemp("ghlake-home")
    kafka, controller, minio, console, warehouse, lake, api, clickhouse = _free_ports(8)
    env = {
        "GHLAKE_HOME": str(home),
        "GHLAKE_KAFKA__PORT": str(kafka),
        "GHLAKE_KAFKA__CONTROLLER_PORT": str(controller),
        "GHLAKE_KAFKA__PARTITIONS": "3",
        "GHLAKE_MINIO__PORT": str(minio),
        "GHLAKE_MINIO__CONSOLE_PORT": str(console),
        "GHLAKE_WAREHOUSE__PORT": str(warehouse),
        "GHLAKE_WAREHOUSE__HTTP_PORT": str(clickhouse),
        "GHLAKE_WAREHOUSE__FLUSH_INTERVAL_MS": "500",
        "GHLAKE_LAKE__WEB_PORT": str(lake),
        "GHLAKE_API__PORT": str(api),
        "GHLAKE_LAKE__BATCH_MAX_SECONDS": "2",
        # The lag monitor samples every second and calls a still group STOP after 20 s
        # (room for a full window of WARN first, on a loaded machine).
        "GHLAKE_LAG__INTERVAL_SECONDS": "1",
        "GHLAKE_LAG__WINDOW_SAMPLES": "5",
        "GHLAKE_LAG__STOP_AFTER_SECONDS": "20",
        "GHLAKE_PROMETHEUS__PORT": str(_free_ports(1)[0]),
        "GHLAKE_PROMETHEUS__SCRAPE_INTERVAL_SECONDS": "1",
    }
    airflow, airflow_db, airflow_logs, airflow_trigger_logs = _free_ports(4)
    env |= {
        "GHLAKE_AIRFLOW__PORT": str(airflow),
        "GHLAKE_AIRFLOW__DB_PORT": str(airflow_db),
        "GHLAKE_AIRFLOW__LOG_SERVER_PORT": str(airflow_logs),
        "GHLAKE_AIRFLOW__TRIGGER_LOG_SERVER_PORT": str(airflow_trigger_logs),
        "GHLAKE_AIRFLOW__DAG_REFRESH_SECONDS": "5",
        # Not under pytest's private tmp dir: as root, PostgreSQL runs as user postgres.
        "GHLAKE_AIRFLOW__DB_DIR": str(Path(tempfile.mkdtemp(prefix="ghlake-airflow-pg-")) / "data"),
    }
    Path(env["GHLAKE_AIRFLOW__DB_DIR"]).parent.chmod(0o755)
    spark_master, spark_ui, spark_worker_ui = _free_ports(3)
    env |= {
        "GHLAKE_SPARK__MASTER_PORT": str(spark_master),
        "GHLAKE_SPARK__MASTER_UI_PORT": str(spark_ui),
        "GHLAKE_SPARK__WORKER_UI_PORT": str(spark_worker_ui),
        "GHLAKE_SPARK__DRIVER_UI_PORT": "0",
        "GHLAKE_SPARK__WORKERS": "1",
        # The notebooks and the job are short: C1 only halves the JVMs' CPU (JIT) there.
        "GHLAKE_SPARK__JAVA_OPTIONS": "-XX:TieredStopAtLevel=1",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield env
    shutil.rmtree(Path(env["GHLAKE_AIRFLOW__DB_DIR"]).parent, ignore_errors=True)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def platform(stack_env: dict[str, str]) -> Iterator[Platform]:
    """The real stack, up for the whole session and down at its end."""
    platform = Platform(Settings())
    try:
        platform.stack.up()
        yield platform
    finally:
        platform.stack.down()
        platform.close()


def replay(
    platform: Platform, location: str, hours: list[Hour], **options: Any
) -> list[HourReport]:
    """Replay ``hours`` from ``location`` (a folder or mirror URL) through the platform."""
    with platform.replayer(location) as replayer:
        return replayer.run(hours, **options)


@pytest.fixture(scope="session")
def real_hours(platform: Platform, gharchive_dir: Path) -> dict[str, int]:
    """Every whole real GH Archive hour, replayed once per session; hour -> lines in the file.

    Tests that need real hours in the stack use this instead of replaying them again,
    so that every stage holds each real event exactly once.
    """
    files = sorted(gharchive_dir.glob("*-*-*-*.json.gz"))
    lines = {path.name.removesuffix(".json.gz"): count_lines(path) for path in files}
    reports = replay(platform, str(gharchive_dir), [Hour.parse(h) for h in lines])
    for report in reports:
        # Published now, or before by a test that backfills real hours (then its record).
        assert report.status.ok, report
        assert report.lines == lines[report.hour], "every line of the file was read"
        valid = report.published - report.recovered
        assert valid + report.dead_lettered == report.lines, "each line in exactly one place"
        assert report.published == lines[report.hour], "the real hours hold no defects"
    return lines


@pytest.fixture(scope="session")
def real_hours_reconciled(platform: Platform, real_hours: dict[str, int]) -> list[HourCounts]:
    """The real hours once the lake and the warehouse hold all of them."""
    return platform.reconciler.wait(real_hours, timeout=300)


@pytest.fixture
def api_client(platform: Platform) -> Iterator[httpx.Client]:
    """An HTTP client of the stack's API service."""
    with httpx.Client(base_url=platform.settings.api.url, timeout=60) as client:
        yield client


def event_line(
    kind: str, number: int, at: datetime, actor: str, repo: str, *, ids: tuple[int, int, int]
) -> bytes:
    """A minimal modern event; ``ids`` are the bases of its event, actor and repository ids."""
    event_base, actor_base, repo_base = ids
    return orjson.dumps(
        {"id": str(event_base + number), "type": kind,
         "actor": {"id": actor_base + zlib.crc32(actor.encode()) % 1_000_000, "login": actor},
         "repo": {"id": repo_base + zlib.crc32(repo.encode()) % 1_000_000, "name": repo},
         "payload": {"action": "started"} if kind == "WatchEvent" else {"ref": "refs/heads/x"},
         "public": True, "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )  # fmt: skip


def wait_for(
    check: Callable[[], object], timeout: float = 90, explain: Callable[[], object] | None = None
) -> None:
    """Poll ``check`` every half second until it is truthy; fail after ``timeout`` seconds,
    saying what ``explain`` returns then (what the check last saw)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out" + (f": {explain()}" if explain else "")
        time.sleep(0.5)


def read_dead_letters(platform: Platform) -> list[tuple[bytes, dict[str, bytes]]]:
    """Every message of the dead-letter topic (one partition), with its headers."""
    from confluent_kafka import Consumer, TopicPartition  # noqa: PLC0415

    settings = platform.settings.kafka
    config = {"group.id": "ghlake-test-dlq-reader", "enable.auto.commit": False}
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, **config})
    try:
        consumer.assign([TopicPartition(settings.dead_letter_topic, 0, 0)])
        out = []
        while (message := consumer.poll(5)) is not None:
            if message.error() is None:
                out.append((message.value() or b"", dict(message.headers() or [])))
        return out
    finally:
        consumer.close()
