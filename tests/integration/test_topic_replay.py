"""Replaying the topic on the real stack: the warehouse and the lake rebuilt from a range,
while the live consumers (the Kafka engine, the lake writer) keep running.

Each test publishes its own events (days no other test uses), notes the time range of
their messages on the topic, damages a store (rows of a day deleted from the warehouse,
events deleted from the lake's Delta table) and replays the range: the store comes back
exactly, counts and aggregates included, and a second replay changes nothing.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from ghlake.errors import InvalidInputError
from ghlake.events.provenance import Provenance
from ghlake.hours import Hour
from ghlake.ingest.topic_replay import TopicReplayRequest, run_recorded
from ghlake.kafka.producer import EventPublisher
from ghlake.kafka.topics import ensure_topics, event_topics
from ghlake.lake.verify import verify_hour
from ghlake.ledger import JobStatus
from ghlake.platform import Platform
from ghlake.sources.archive import open_archive
from ghlake.warehouse.clickhouse import ClickHouseQueries
from tests.conftest import event_line, replay, wait_for

pytestmark = pytest.mark.integration

DAY = date(2018, 7, 14)  # the warehouse test's events
LIVE_DAY = date(2018, 7, 15)  # events published while its replay runs
LAKE_HOUR = Hour.parse("2018-07-16-9")
IDS = (9_500_000_000, 70_000_000, 99_000_000)


def _events(day: date, count: int, first: int, actor: str = "replayer") -> list[bytes]:
    """``count`` pushes, stars and opened pull requests of a few actors and repositories."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    kinds = ("PushEvent", "WatchEvent", "PullRequestEvent")
    lines = []
    for i in range(count):
        at, login, repo = start + timedelta(minutes=7 * i), f"{actor}{i % 9}", f"topic/r{i % 5}"
        line = event_line(kinds[i % 3], first + i, at, login, repo, ids=IDS)
        if kinds[i % 3] == "PullRequestEvent":
            event = orjson.loads(line)
            event["payload"] = {"action": "opened", "number": i, "pull_request": {"number": i}}
            line = orjson.dumps(event)
        lines.append(line)
    return lines


@pytest.fixture
def admin(platform: Platform) -> Iterator[ClickHouseQueries]:
    """The warehouse's ClickHouse interface as the admin (to damage it)."""
    client = ClickHouseQueries.as_admin(platform.settings)
    yield client
    client.close()


def _warehouse_day(admin: ClickHouseQueries, day: date) -> dict[str, Any]:
    """Rows of ``day`` (all copies, and FINAL) and what every aggregate table says of it."""
    on = {"day": day.isoformat()}
    queries = {
        "rows": "SELECT count() AS n FROM github_events WHERE toDate(created_at) = {day:Date}",
        "final": "SELECT count() AS n FROM github_events FINAL "
        "WHERE toDate(created_at) = {day:Date}",
        "per_minute": "SELECT toString(minute) AS m, event_type, uniqExactMerge(events) AS n "
        "FROM events_per_minute WHERE toDate(minute) = {day:Date} GROUP BY m, event_type "
        "ORDER BY m, event_type",
        "repos": "SELECT repo_name, event_type, uniqExactMerge(events) AS n, "
        "uniqExactMerge(actors) AS a FROM repo_events_daily WHERE day = {day:Date} "
        "GROUP BY repo_name, event_type ORDER BY repo_name, event_type",
        "actors": "SELECT uniqExactMerge(actors) AS a, uniqExactMerge(events) AS n "
        "FROM actors_daily WHERE day = {day:Date}",
        "pulls": "SELECT repo_name, uniqExactMerge(prs_opened) AS n FROM pull_requests_daily "
        "WHERE day = {day:Date} GROUP BY repo_name ORDER BY repo_name",
        "first_seen": "SELECT actor_login, toString(min(first_seen)) AS f, sum(other_events) AS o "
        "FROM actor_first_seen WHERE actor_login LIKE 'replayer%' GROUP BY actor_login "
        "ORDER BY actor_login",
    }
    return {name: admin.select(sql, on if "{day" in sql else None) for name, sql in queries.items()}


def _publish(platform: Platform, lines: list[bytes], label: str) -> None:
    platform.publisher().publish_lines(lines, Provenance("gharchive", label, ""))


def _finished(api: httpx.Client, replay_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = {}

    def done() -> bool:
        response = api.get(f"/v1/topic-replays/{replay_id}")
        assert response.status_code == 200, response.text
        answer.update(response.json())
        return answer["status"] in ("done", "failed")

    try:
        wait_for(done, timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"topic replay {replay_id} did not finish: {answer}") from exc
    return answer


def test_a_warehouse_replay_brings_back_a_deleted_day_exactly(
    platform: Platform, api_client: httpx.Client, admin: ClickHouseQueries
) -> None:
    lines = _events(DAY, 120, first=0)
    from_time = datetime.now(UTC)
    _publish(platform, lines, "topic-replay-day")
    wait_for(lambda: _warehouse_day(admin, DAY)["final"] == [{"n": len(lines)}])
    to_time = datetime.now(UTC)
    before = _warehouse_day(admin, DAY)
    assert before["rows"] == [{"n": len(lines)}]
    assert before["pulls"], "the aggregates hold the day"

    admin.statement(
        "DELETE FROM github_events WHERE toDate(created_at) = {day:Date}",
        {"day": DAY.isoformat()},
    )
    assert _warehouse_day(admin, DAY)["rows"] == [{"n": 0}]

    auth = {"Authorization": f"Bearer {platform.settings.api_token}"}
    body = {"store": "warehouse", "from_time": from_time.isoformat(),
            "to_time": to_time.isoformat()}  # fmt: skip
    started = api_client.post("/v1/topic-replays", json=body, headers=auth)
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("queued", "running")
    live = _events(LIVE_DAY, 30, first=1000, actor="live-")  # the live pipeline goes on meanwhile
    _publish(platform, live, "topic-replay-live")

    finished = _finished(api_client, started.json()["id"])
    assert finished["status"] == "done", finished["error"]
    assert finished["warehouse_inserted"] == len(lines)
    assert finished["warehouse_deleted"] == 0, "the day's rows were deleted beforehand"
    assert DAY.isoformat() in finished["days"]
    assert _warehouse_day(admin, DAY) == before, "counts and aggregates exactly as before"
    wait_for(lambda: _warehouse_day(admin, LIVE_DAY)["final"] == [{"n": len(live)}])

    replayer = platform.topic_replayer()
    again = platform.topic_replays.create("warehouse", from_time, to_time)
    record = run_recorded(platform.topic_replays, replayer, again)
    assert record.status is JobStatus.DONE, record.error
    assert (record.warehouse_deleted, record.warehouse_inserted) == (len(lines), len(lines))
    assert _warehouse_day(admin, DAY) == before, "a second replay changes nothing"
    assert _warehouse_day(admin, LIVE_DAY)["rows"] == [{"n": len(live)}]


def test_a_lake_replay_of_an_hour_restores_deleted_events_once(
    platform: Platform, tmp_path: Path
) -> None:
    start = LAKE_HOUR.start
    lines = [
        event_line(
            ("PushEvent", "WatchEvent")[i % 2],
            2000 + i,
            start + timedelta(seconds=13 * i),
            f"lake-replayer{i % 7}",
            f"topic-replay/l{i % 4}",
            ids=IDS,
        )
        for i in range(200)
    ]
    (tmp_path / f"{LAKE_HOUR}.json.gz").write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    source = open_archive(tmp_path)
    from_time = datetime.now(UTC)
    replay(platform, str(tmp_path), [LAKE_HOUR])
    to_time = datetime.now(UTC)
    table, store = platform.lake_table, platform.store
    wait_for(lambda: verify_hour(table, store, source, LAKE_HOUR).ok)

    table.table().delete(f"source_hour = '{LAKE_HOUR}' AND event_type = 'WatchEvent'")
    damaged = verify_hour(table, store, source, LAKE_HOUR)
    assert (damaged.missing, damaged.duplicates) == (100, 0)

    request = TopicReplayRequest("lake", from_time, to_time)
    record = platform.topic_replays.create(request.store, request.from_time, request.to_time)
    done = run_recorded(platform.topic_replays, platform.topic_replayer(), record)
    assert done.status is JobStatus.DONE, done.error
    assert (done.lake_added, done.lake_present) == (100, 100)
    repaired = verify_hour(table, store, source, LAKE_HOUR)
    assert (repaired.missing, repaired.duplicates, repaired.unexpected) == (0, 0, 0)

    version = table.version()
    again = platform.topic_replays.create(request.store, request.from_time, request.to_time)
    twice = run_recorded(platform.topic_replays, platform.topic_replayer(), again)
    assert (twice.status, twice.lake_added, twice.lake_present) == (JobStatus.DONE, 0, 200)
    assert table.version() == version, "nothing to add: no commit"
    assert verify_hour(table, store, source, LAKE_HOUR).ok


def test_a_range_retention_has_cut_into_is_refused_with_the_earliest_time_held(
    platform: Platform,
) -> None:
    topic = "topic-replay-retention"
    kafka = platform.settings.kafka.model_copy(
        update={"topic": topic, "dead_letter_topic": f"{topic}.dlq", "partitions": 1}
    )
    ensure_topics(kafka.bootstrap, event_topics(kafka))
    before = datetime.now(UTC)
    EventPublisher(kafka).publish_lines(
        _events(DAY, 10, first=3000), Provenance("gharchive", "r", "")
    )
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for future in admin.delete_records([TopicPartition(kafka.topic, 0, 5)]).values():
        future.result(timeout=30)  # as retention does: the log now starts at offset 5
    watermarks = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "retention-test"})
    try:
        low = TopicPartition(kafka.topic, 0)
        wait_for(lambda: watermarks.get_watermark_offsets(low, timeout=10)[0] == 5, timeout=30)
    finally:
        watermarks.close()

    trimmed = Platform(platform.settings.model_copy(update={"kafka": kafka}))
    try:
        replayer = trimmed.topic_replayer()
        with pytest.raises(
            InvalidInputError, match=r"no longer on topic .* holds messages from"
        ) as refused:
            replayer.plan(TopicReplayRequest("both", before, datetime.now(UTC)))
        since = datetime.fromisoformat(
            str(refused.value).split("holds messages from ")[1].split(" on ")[0]
        )
        assert since >= before
        span = replayer.plan(TopicReplayRequest("lake", since, datetime.now(UTC) + timedelta(1)))
        assert (span.starts, span.ends, span.messages) == ({0: 5}, {0: 10}, 5)
    finally:
        trimmed.close()


def test_the_route_refuses_bad_ranges_and_callers_without_the_token(
    platform: Platform, api_client: httpx.Client
) -> None:
    now = datetime.now(UTC).isoformat()
    auth = {"Authorization": f"Bearer {platform.settings.api_token}"}
    body = {"store": "lake", "from_time": now, "to_time": now}
    reversed_range = api_client.post("/v1/topic-replays", json=body, headers=auth)
    assert reversed_range.status_code == 422
    assert "is empty" in reversed_range.json()["detail"]
    assert api_client.post("/v1/topic-replays", json=body).status_code == 401
    bad_store = api_client.post("/v1/topic-replays", json={**body, "store": "s3"}, headers=auth)
    assert bad_store.status_code == 422
    assert api_client.get("/v1/topic-replays/nope").status_code == 404
