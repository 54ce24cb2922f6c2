"""Consumer lag on the real stack: the API's monitor, `ghlake lag`, and ClickHouse's view.

The test stack's monitor samples every second, with a window of 5 samples and STOP after
20 still seconds (tests/conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from ghlake.hours import Hour
from ghlake.platform import Platform
from tests.conftest import replay, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLOW_HOUR = "2011-02-15-0"  # 1,639 events over an hour: about 36 s at 100x


def lag(client: httpx.Client, group: str | None = None) -> dict[str, Any]:
    response = client.get("/v1/lag" if group is None else f"/v1/lag/{group}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def entry(client: httpx.Client, group: str, topic: str) -> dict[str, Any] | None:
    for found in lag(client)["groups"]:
        if found["group"] == group and found["topic"] == topic:
            return found
    return None


def status_of(client: httpx.Client, group: str, topic: str) -> str | None:
    found = entry(client, group, topic)
    return None if found is None else found["status"]


def record_timestamp(platform: Platform, topic: str, partition: int, offset: int) -> float:
    """The broker's timestamp of one record, read back plainly."""
    consumer = Consumer(
        {"bootstrap.servers": platform.settings.kafka.bootstrap, "group.id": "ghlake-test-ts",
         "enable.auto.commit": False}
    )  # fmt: skip
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                assert message.offset() == offset
                return message.timestamp()[1] / 1000
        raise AssertionError(f"record {topic}/{partition}@{offset} not read")
    finally:
        consumer.close()


@pytest.fixture
def caught_up(platform: Platform, api_client: httpx.Client) -> Iterator[None]:
    """Every group of the events topic OK (and the lake writer running) before and after."""
    topic = platform.settings.kafka.topic
    groups = (platform.settings.lake.consumer_group, platform.settings.warehouse.consumer_group)

    def all_ok() -> bool:
        found = [entry(api_client, g, topic) for g in groups]
        return all(f is not None and f["status"] == "OK" and f["lag"] == 0 for f in found)

    wait_for(all_ok, timeout=180)
    yield
    platform.stack.start("lake-writer")
    wait_for(all_ok, timeout=180)


def test_every_group_is_listed_ok_with_clickhouse_beside_it(
    platform: Platform, api_client: httpx.Client, real_hours_reconciled: object, caught_up: None
) -> None:
    topic = platform.settings.kafka.topic
    # A sample in which every group of the topic has caught up (the report is up to a sample
    # old: a group an earlier suite deleted, such as Spark's, leaves it at the next sample).
    seen: list[dict[str, Any]] = []

    def every_group_caught_up() -> bool:
        seen[:] = [lag(api_client)]
        return all(g["lag"] == 0 for g in seen[0]["groups"] if g["topic"] == topic)

    wait_for(every_group_caught_up, timeout=60, explain=lambda: f"a group of {topic} lags: {seen}")
    body = seen[0]
    names = {g["group"] for g in body["groups"] if g["topic"] == topic}
    assert {
        platform.settings.lake.consumer_group,
        platform.settings.warehouse.consumer_group,
    } <= names
    for group in body["groups"]:
        if group["topic"] != topic:
            continue
        assert group["lag"] == 0, (group["group"], group["partitions"])
        assert group["lag_seconds"] == 0
        assert len(group["partitions"]) == 3
        assert all(p["committed"] == p["end"] for p in group["partitions"])
    # ClickHouse's own view of the warehouse group: its consumers' positions are the
    # broker's committed offsets (the engine commits after each block).
    assert body["kafka_engine_error"] is None
    engine = body["kafka_engine"]
    assert engine, "system.kafka_consumers lists the Kafka engine's consumers"
    broker = {p["partition"]: p["committed"] for p in
              entry(api_client, platform.settings.warehouse.consumer_group, topic)["partitions"]}  # type: ignore[index]  # fmt: skip
    seen = {}
    for consumer in engine:
        for t, partition, offset in zip(
            consumer["topics"], consumer["partitions"], consumer["offsets"], strict=True
        ):
            if t == topic:
                seen[partition] = offset
    assert seen, engine
    for partition, offset in seen.items():
        assert offset <= broker[partition]


def test_one_group_and_an_unknown_one(platform: Platform, api_client: httpx.Client) -> None:
    group = platform.settings.warehouse.consumer_group
    wait_for(lambda: lag(api_client)["groups"], timeout=60)
    body = lag(api_client, group)
    assert {g["group"] for g in body["groups"]} == {group}
    assert api_client.get("/v1/lag/no-such-group").status_code == 404


def test_a_stopped_lake_writer_warns_then_stops_and_recovers(
    platform: Platform,
    api_client: httpx.Client,
    gharchive_dir: Path,
    real_hours: object,
    caught_up: None,
) -> None:
    topic = platform.settings.kafka.topic
    writer, warehouse = (
        platform.settings.lake.consumer_group,
        platform.settings.warehouse.consumer_group,
    )
    started = time.time()
    platform.stack.supervisor.stop(platform.stack.service("lake-writer").spec())
    seen: dict[str, list[str]] = {writer: [], warehouse: []}
    replaying = threading.Thread(
        target=replay, args=(platform, str(gharchive_dir), [Hour.parse(SLOW_HOUR)]),
        kwargs={"force": True, "speed": 100},
    )  # fmt: skip
    replaying.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (not seen[writer] or seen[writer][-1] != "STOP"):
            for group, statuses in seen.items():
                statuses.append(status_of(api_client, group, topic) or "missing")
            time.sleep(1)
        assert "WARN" in seen[writer], (seen[writer], entry(api_client, writer, topic))
        assert seen[writer][-1] == "STOP", seen[writer]
        assert seen[writer].index("WARN") < seen[writer].index("STOP")
        # The warehouse keeps consuming all along (WARN at most while a block is pending).
        assert not {"STOP", "STALL", "REWIND", "ERR"} & set(seen[warehouse]), seen[warehouse]
        # Lag in seconds: the age of the record at the stopped group's committed offset.
        body = entry(api_client, writer, topic)
        assert body is not None
        for partition in body["partitions"]:
            if partition["lag"] == 0:
                continue
            written = record_timestamp(
                platform, topic, partition["partition"], partition["committed"]
            )
            assert written >= started - 1, "the record at the commit is one this test replayed"
            assert partition["lag_seconds_method"] == "record"
            at = lag(api_client)["at"]
            assert partition["lag_seconds"] == pytest.approx(at - written, abs=3)
    finally:
        replaying.join()
        platform.stack.start("lake-writer")
    wait_for(lambda: status_of(api_client, writer, topic) == "OK", timeout=180)


def test_a_group_reset_to_an_earlier_offset_is_rewind(
    platform: Platform, api_client: httpx.Client, real_hours: object
) -> None:
    topic, group = platform.settings.kafka.topic, "ghlake-test-rewind"
    consumer = Consumer(
        {"bootstrap.servers": platform.settings.kafka.bootstrap, "group.id": group,
         "enable.auto.commit": False}
    )  # fmt: skip

    def commit(offset: int) -> None:
        consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)

    try:
        commit(500)
        wait_for(lambda: status_of(api_client, group, topic) is not None, timeout=60)
        time.sleep(2)
        commit(100)
        wait_for(lambda: status_of(api_client, group, topic) == "REWIND", timeout=30)
        found = entry(api_client, group, topic)
        assert found is not None
        assert not found["active"], "a group that only committed has no member"
        partitions = {p["partition"]: p for p in found["partitions"]}
        assert partitions[0]["committed"] == 100
        # The partitions it never committed are shown as such, counted from the log start.
        assert partitions[1]["committed"] is None
        assert partitions[1]["lag"] == partitions[1]["end"]
    finally:
        consumer.close()
        # Leave no REWIND behind for the tests that want every group OK.
        admin = AdminClient({"bootstrap.servers": platform.settings.kafka.bootstrap})
        for future in admin.delete_consumer_groups([group], request_timeout=10).values():
            future.result(timeout=15)
