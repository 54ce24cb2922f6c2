"""The live poller into the real broker: overlapping polls land on the topic once each."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
import pytest
import typer
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from typer.testing import CliRunner

from ghlake.cli.poll import poll
from ghlake.hours import Hour
from ghlake.ingest.live import LiveIngest
from ghlake.kafka.producer import EventPublisher, PublishResult
from ghlake.platform import Platform
from ghlake.sources.live import EventsApiClient, LiveConfig, LivePoller, PollResult
from tests.fakes.clock import FakeClock
from tests.fakes.github_api import FakeGitHubApi, load_events

pytestmark = pytest.mark.integration

EXTRACT = "events-2021-01-01-1-first1000.ndjson.gz"


def _unique_id_base() -> int:
    # Far above GitHub's ids, distinct per run: the topic is shared with other tests.
    return 90_000_000_000_000 + (time.time_ns() // 1000) % 10**12 * 1000


def _read_topic(
    platform: Platform, ids: set[str]
) -> list[tuple[dict[str, object], dict[str, bytes]]]:
    """Every message of the events topic whose event id is one of ``ids``, with its headers."""
    kafka = platform.settings.kafka
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap, "group.id": "ghlake-live-test-reader",
         "enable.auto.commit": False}
    )  # fmt: skip
    try:
        partitions = consumer.list_topics(kafka.topic, timeout=10).topics[kafka.topic].partitions
        ends = {}
        for number in partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(kafka.topic, number), 10)
            if high > 0:
                ends[number] = high
        consumer.assign([TopicPartition(kafka.topic, p, OFFSET_BEGINNING) for p in ends])
        found = []
        deadline = time.monotonic() + 60
        while ends:
            assert time.monotonic() < deadline, f"partitions {sorted(ends)} not read to their end"
            message = consumer.poll(1.0)
            if message is None or message.error() is not None:
                continue
            if message.offset() >= ends.get(message.partition(), 0) - 1:
                ends.pop(message.partition(), None)
            event = orjson.loads(message.value())
            if isinstance(event, dict) and event.get("id") in ids:
                headers = dict(message.headers() or [])
                found.append((event, headers))
        return found
    finally:
        consumer.close()


def test_two_overlapping_polls_land_on_the_topic_once_each(
    platform: Platform, gharchive_dir: Path
) -> None:
    events = load_events(gharchive_dir / EXTRACT, id_base=_unique_id_base())
    clock = FakeClock(start=time.time())
    polls: list[PollResult] = []
    published: list[PublishResult | None] = []

    with (
        FakeGitHubApi(events, clock=clock.now, tokens={"tok": 5000}) as api,
        httpx.Client(timeout=5) as http,
    ):
        config = LiveConfig(base_url=api.base_url, tokens=("tok",))
        poller = LivePoller(EventsApiClient(config, http, clock=clock.now, sleep=clock.sleep))

        def on_poll(result: PollResult, outcome: PublishResult | None) -> None:
            polls.append(result)
            published.append(outcome)
            api.advance(40)  # 40 newer events on top; the second poll sees 260 again

        ingest = LiveIngest(poller, EventPublisher(platform.settings.kafka), platform.ledger)
        summary = ingest.run(threading.Event(), on_poll, max_polls=2)
        offered = {orjson.loads(line)["id"] for line in events[:340]}

    assert [(p.new, p.duplicates) for p in polls] == [(300, 0), (40, 260)]
    assert [o.published if o else 0 for o in published] == [300, 40]
    assert (summary.new, summary.published, summary.dead_lettered) == (340, 340, 0)

    found = _read_topic(platform, offered)
    identities = Counter((event["id"], event["created_at"]) for event, _ in found)
    assert len(identities) == 340, "every event offered reached the topic"
    assert set(identities.values()) == {1}, "and each exactly once"
    hours = {p.window_start: p.hour for p in polls}
    for _event, headers in found:
        assert headers["source"] == b"live"
        assert headers["hour"].decode() in hours.values()
    assert polls[0].hour == Hour.containing(polls[0].window_start).name


def test_poll_command_once_publishes_the_feed(platform: Platform, gharchive_dir: Path) -> None:
    events = load_events(gharchive_dir / EXTRACT, limit=300, id_base=_unique_id_base())
    app = typer.Typer()
    app.command("poll")(poll)
    app.callback()(lambda: None)
    with FakeGitHubApi(events, tokens={"tok": 5000}) as api:
        result = CliRunner().invoke(
            app, ["poll", "--base-url", api.base_url, "--token", "tok", "--once"]
        )
        tokens = {r.token for r in api.requests}
    assert result.exit_code == 0, result.output
    assert "live polling summary" in result.output
    assert tokens == {"tok"}
    ids = {orjson.loads(line)["id"] for line in events}
    found = _read_topic(platform, ids)
    assert sorted(event["id"] for event, _ in found) == sorted(ids)
    [window] = [p for p in platform.ledger.polls(10) if p.published == len(ids)][:1]
    assert (window.pages, window.new) == (3, len(ids)), "the poll window is in the ledger"
