"""The public API as a real service of the stack, over real HTTP."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.platform import Platform
from ghlake.sources.archive import gunzip_lines, open_archive
from ghlake.synth import SynthConfig, write_hour

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.settings.api.url, timeout=60) as client:
        yield client


def _auth(platform: Platform) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.settings.api_token}"}


def _wait_job(api: httpx.Client, job_id: str, states: tuple[str, ...], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/v1/replays/{job_id}").json()
        if job["status"] in states:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job['status']}: {job}"
        time.sleep(0.2)


def test_health_metrics_and_openapi(api: httpx.Client) -> None:
    health = api.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json()["components"] == {
        "kafka": True,
        "lake": True,
        "warehouse": True,
        "ledger": True,
    }
    metrics = api.get("/metrics").text
    assert "ghlake_ledger_hour_records" in metrics
    assert "ghlake_api_requests" in metrics
    assert "/v1/replays" in api.get("/openapi.json").json()["paths"]


def test_writes_need_the_token(platform: Platform, api: httpx.Client) -> None:
    body = {"from": "2016-09-01-0", "to": "2016-09-01-0", "source": "/nowhere"}
    assert api.post("/v1/replays", json=body).status_code == 401
    assert (
        api.post("/v1/replays", json=body, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert api.delete("/v1/replays/x").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"from": "2016-09-02-0", "to": "2016-09-01-0"}, "reversed"),
        ({"from": "2016-13-01-0", "to": "2016-13-01-1"}, "not a valid hour"),
        ({"from": "2015-01-01-0", "to": "2016-12-31-23"}, "at most"),
        ({"from": "2016-09-01-0", "to": "2016-09-01-0", "speed": -1}, "greater than 0"),
        ({"from": "2016-09-01-0", "to": "2016-09-01-0", "drop": "table"}, "Extra inputs"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    platform: Platform, api: httpx.Client, body: dict[str, Any], message: str
) -> None:
    response = api.post("/v1/replays", json=body, headers=_auth(platform))
    assert response.status_code == 422
    assert message in response.text


def test_a_replay_through_the_api(platform: Platform, api: httpx.Client, tmp_path: Path) -> None:
    hours = [Hour.parse("2016-09-01-0"), Hour.parse("2016-09-01-1")]
    events = {
        h.name: write_hour(h, tmp_path, SynthConfig(events_per_hour=800, seed=9)).events
        for h in hours
    }
    body = {"from": hours[0].name, "to": hours[1].name, "source": str(tmp_path)}
    started = api.post("/v1/replays", json=body, headers=_auth(platform))
    assert started.status_code == 202, started.text
    job = _wait_job(api, started.json()["id"], ("done", "failed"))
    assert (job["status"], job["hours_done"], job["hours_total"]) == ("done", 2, 2)
    assert job["published"] == sum(events.values())
    assert job["from"] == hours[0].name
    assert any(j["id"] == job["id"] for j in api.get("/v1/replays").json())
    counts = platform.reconciler.wait(events, timeout=120)
    assert all(c.reconciled for c in counts)


def test_cancel_stops_a_paced_replay(platform: Platform, api: httpx.Client, tmp_path: Path) -> None:
    hour = Hour.parse("2016-09-02-0")
    write_hour(hour, tmp_path, SynthConfig(events_per_hour=20_000, seed=2))
    body = {"from": hour.name, "to": hour.name, "source": str(tmp_path), "speed": 60}
    job_id = api.post("/v1/replays", json=body, headers=_auth(platform)).json()["id"]
    _wait_job(api, job_id, ("running",))
    time.sleep(2)
    cancelled = api.delete(f"/v1/replays/{job_id}", headers=_auth(platform))
    assert cancelled.status_code == 200
    job = _wait_job(api, job_id, ("cancelled",), timeout=60)
    assert job["hours_done"] == 1
    record = platform.ledger.hour(hour.name)
    assert record is not None
    assert record.status == "interrupted"


def test_jobs_survive_an_api_restart(platform: Platform, api: httpx.Client, tmp_path: Path) -> None:
    hour = Hour.parse("2016-09-03-0")
    events = write_hour(hour, tmp_path, SynthConfig(events_per_hour=6000, seed=4)).events
    # Paced so that the hour takes about 20 s: the API is killed in the middle of it.
    body = {"from": hour.name, "to": hour.name, "source": str(tmp_path), "speed": 180}
    job_id = api.post("/v1/replays", json=body, headers=_auth(platform)).json()["id"]
    _wait_job(api, job_id, ("running",))
    time.sleep(3)
    spec = platform.stack.service("api").spec()
    platform.stack.supervisor.kill(spec)
    platform.stack.supervisor.start(spec)  # waits for /healthz

    job = _wait_job(api, job_id, ("done", "failed"), timeout=120)
    assert job["status"] == "done", job
    record = platform.ledger.hour(hour.name)
    assert record is not None
    assert (record.status, record.valid, record.attempts) == ("published", events, 2)
    [counts] = platform.reconciler.wait({hour.name: events}, timeout=120)
    assert counts.reconciled, "the resumed job published each event once"


def test_archive_range_and_mirror_serve_what_ghlake_holds(
    platform: Platform,
    api: httpx.Client,
    gharchive_dir: Path,
    real_hours_reconciled: list[HourCounts],
) -> None:
    with gzip.open(gharchive_dir / "2015-01-01-3.json.gz", "rb") as handle:
        source = {json.loads(line)["id"] for line in handle}

    response = api.get(
        "/v1/archive", params={"start": "2015-01-01T03:00:00Z", "end": "2015-01-01T04:00:00Z"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    served = [json.loads(line) for line in gzip.decompress(response.content).splitlines()]
    assert {e["id"] for e in served} == source
    assert len(served) == len(source), "each event once"

    mirror = open_archive(platform.settings.api.url)  # any GH Archive client can point at the API
    try:
        lines = list(gunzip_lines(mirror.chunks(Hour.parse("2015-01-01-3"))))
    finally:
        mirror.close()
    assert {json.loads(line)["id"] for line in lines} == source
    assert api.get("/2031-01-01-0.json.gz").status_code == 404
    assert api.get("/2015-01-01-03.json.gz").status_code == 404, "GH Archive does not zero-pad"
    bad = api.get(
        "/v1/archive", params={"start": "2015-01-02T00:00:00Z", "end": "2015-01-01T00:00:00Z"}
    )
    assert bad.status_code == 422


def test_warehouse_queries_through_the_front_door(
    platform: Platform, api: httpx.Client, real_hours_reconciled: list[HourCounts]
) -> None:
    window = {"since": "2015-01-01T01:00:00Z", "until": "2015-01-01T02:00:00Z"}
    types = api.get("/v1/event-types", params=window)
    assert types.status_code == 200, types.text
    body = types.text
    assert "PushEvent" in body
    assert "WatchEvent" in body
    sql = {"sql": "SELECT count() AS n FROM github_events WHERE source_hour = '2015-01-01-1'"}
    assert api.post("/v1/sql", json=sql).status_code == 401
    answer = api.post("/v1/sql", json=sql, headers=_auth(platform))
    assert answer.status_code == 200, answer.text
    assert "7427" in answer.text
    refused = api.post("/v1/sql", json={"sql": "DROP TABLE github_events"}, headers=_auth(platform))
    assert refused.status_code == 400
