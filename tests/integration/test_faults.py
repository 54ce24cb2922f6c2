"""Real faults on the real stack: nothing valid is lost or duplicated."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from ghlake.hours import Hour
from ghlake.platform import Platform
from ghlake.sources.synthetic import SynthConfig, write_hour

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _lake_health(stack: Platform) -> int:
    lake = stack.settings.lake
    return httpx.get(f"http://{lake.web_host}:{lake.web_port}/healthz", timeout=5).status_code


def test_minio_down_stalls_the_lake_writer_without_loss(stack: Platform, tmp_path: Path) -> None:
    hour = "2018-05-01-10"  # generated: real hours belong to the real_hours fixture
    config = SynthConfig(events_per_hour=6000, seed=7)
    lines = write_hour(Hour.parse(hour), tmp_path, config).events
    minio = stack.service("minio")
    stack.supervisor.stop(minio.spec())
    try:
        [report] = stack.replay(str(tmp_path), [Hour.parse(hour)])
        assert report.published == lines
        deadline = time.monotonic() + 60
        while _lake_health(stack) != 503:
            assert time.monotonic() < deadline, "the lake writer never reported the stall"
            time.sleep(0.5)
        time.sleep(5)  # several failed attempts while MinIO stays down
    finally:
        stack.supervisor.start(minio.spec())

    [counts] = stack.wait_reconciled({hour: lines}, timeout=180)
    assert counts.lake == lines, "every event reached the lake once MinIO was back, none twice"
    assert counts.warehouse == lines
    assert _lake_health(stack) == 200
