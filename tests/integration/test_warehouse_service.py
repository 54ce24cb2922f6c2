"""The warehouse service on the real stack: bad messages, the SQL endpoint, trending, migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from confluent_kafka import KafkaError, Message, Producer

from ghlake.errors import InvalidInputError
from ghlake.events.provenance import Provenance
from ghlake.platform import Platform
from ghlake.warehouse.client import WarehouseClient
from tests.conftest import event_line, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BAD = [
    b"this is not JSON",
    b'{"id": "1", "type": "PushEvent", "created_at": ',  # truncated
    b"[1, 2, 3]",
    b'{"id":"5","type":"MysteryEvent","created_at":"2026-01-01T00:00:00Z","payload":{}}',
    b'{"id":"6","type":"PushEvent","created_at":"the day before yesterday"}',
    b'{"id":"7","created_at":"2026-01-01T00:00:00Z"}',
]


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[WarehouseClient]:
    client = WarehouseClient(platform.settings.warehouse.url, token=platform.settings.api_token)
    yield client
    client.close()


def _event(kind: str, number: int, at: datetime, actor: str, repo: str) -> bytes:
    return event_line(kind, number, at, actor, repo, ids=(9_100_000_000, 50_000_000, 77_000_000))


def test_bad_messages_land_in_ingest_errors_and_the_consumer_goes_on(
    platform: Platform, client: WarehouseClient
) -> None:
    label = "bad-messages-2026"
    delivered: list[tuple[int, int]] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        assert error is None, error
        delivered.append((message.partition(), message.offset()))

    producer = Producer({"bootstrap.servers": platform.settings.kafka.bootstrap})
    good = _event("WatchEvent", 1, datetime(2026, 1, 2, 3, 4, 5), "after-bad", "o/after-bad")
    for value in [*BAD, good]:
        producer.produce(
            platform.settings.kafka.topic, value=value, key=b"bad", partition=0,
            headers=[("hour", label.encode())], on_delivery=on_delivery,
        )  # fmt: skip
    assert producer.flush(30) == 0
    bad_offsets = set(delivered[: len(BAD)])

    def all_there() -> bool:
        errors = client.ingest_errors(limit=10_000)
        mine = {(int(e["kafka_partition"]), int(e["kafka_offset"])) for e in errors}
        return bad_offsets <= mine and bool(platform.warehouse.counts_by_source_hour([label]))

    wait_for(all_there)
    errors = {
        (int(e["kafka_partition"]), int(e["kafka_offset"])): e
        for e in client.ingest_errors(limit=10_000)
        if e["source_hour"] == label
    }
    assert set(errors) == bad_offsets, "each bad message once, with its partition and offset"
    reasons = [errors[offset]["error"] for offset in sorted(bad_offsets)]
    assert reasons[0].startswith("unparsable message")
    assert "unknown event type: MysteryEvent" in reasons
    assert any(r.startswith("created_at is not a timestamp") for r in reasons)
    assert "no event type" in reasons
    assert errors[min(bad_offsets)]["raw"] == BAD[0].decode()
    assert platform.warehouse.counts_by_source_hour([label]) == {label: 1}, "the valid one after"


def test_sql_endpoint_is_read_only_and_limited(platform: Platform, client: WarehouseClient) -> None:
    before = client.sql("SELECT count() FROM github_events").rows[0][0]
    intruder = WarehouseClient(platform.settings.warehouse.url, token="wrong")
    try:
        with pytest.raises(InvalidInputError, match="token"):
            intruder.sql("SELECT 1")
    finally:
        intruder.close()
    refused = {
        "INSERT INTO github_events (repo_name) VALUES ('x')": "Syntax error",
        "DROP TABLE github_events": "Syntax error",
        "SET readonly = 0": "Syntax error",
        "CREATE TABLE t (x UInt8) ENGINE = Memory": "Syntax error",
        "SELECT 1; DROP TABLE github_events": "Multi-statements",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')": "readonly mode",
        "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')": "readonly mode",
        "SELECT 1 INTO OUTFILE '/tmp/ghlake-sql-endpoint'": "Syntax error",
        "SELECT * FROM (SELECT * FROM file('/etc/hosts', 'LineAsString') SETTINGS readonly = 0)": (
            "readonly mode"
        ),
    }
    for sql, reason in refused.items():
        with pytest.raises(InvalidInputError, match=reason):
            client.sql(sql)
    assert client.sql("SELECT count() FROM github_events").rows[0][0] == before
    assert client.sql("SELECT getSetting('readonly')").rows == [[1]]

    cut = client.sql("SELECT number FROM system.numbers LIMIT 100", max_rows=7)
    assert (len(cut.rows), cut.truncated) == (7, True)
    started = time.monotonic()
    with pytest.raises(InvalidInputError, match="Timeout exceeded"):
        client.sql("SELECT sleep(3) SETTINGS max_execution_time = 100", max_seconds=1)
    assert time.monotonic() - started < 3
    whole = client.sql("SELECT 'it''s' AS s, 2 AS n -- a comment")
    assert (whole.columns, whole.rows, whole.truncated) == (["s", "n"], [["it's", 2]], False)


def test_trending_discounts_star_bursts_from_new_accounts(
    platform: Platform, client: WarehouseClient
) -> None:
    window = datetime(2026, 2, 20, 10)
    lines = []
    for i in range(10):  # established: active two months before starring
        lines.append(_event("PushEvent", 100 + i, window - timedelta(days=60), f"old{i}", "t/x"))
        lines.append(
            _event("WatchEvent", 200 + i, window + timedelta(minutes=i), f"old{i}", "t/real")
        )
    for i in range(30):  # a burst of fresh star-only accounts
        lines.append(
            _event("WatchEvent", 300 + i, window + timedelta(minutes=i), f"new{i}", "t/farm")
        )
    label = "trending-2026"
    platform.publisher().publish_lines(lines, Provenance("gharchive", label, ""))
    wait_for(lambda: platform.warehouse.counts_by_source_hour([label]) == {label: len(lines)})

    until = window + timedelta(hours=2)
    ranked = {r.repo_name: r for r in client.trending_repositories(until, min_stars=0, limit=1000)}
    assert (ranked["t/real"].credible_stars, ranked["t/real"].new_account_stars) == (10, 0)
    assert (ranked["t/farm"].credible_stars, ranked["t/farm"].new_account_stars) == (0, 30)
    assert ranked["t/real"].score > ranked["t/farm"].score
    guarded = [r.repo_name for r in client.trending_repositories(until, min_stars=5)]
    assert "t/real" in guarded
    assert "t/farm" not in guarded, "30 stars from new accounts must not trend"


def test_migrations_are_recorded_and_a_second_migrate_changes_nothing(
    client: WarehouseClient,
) -> None:
    migrations = client.migrations()
    assert [m["version"] for m in migrations] == sorted(m["version"] for m in migrations)
    assert all(m["applied_at"] for m in migrations)
    report = client.migrate()
    assert report["applied"] == []
    assert report["pipeline_rebuilt"] is False
    assert report["current_version"] == migrations[-1]["version"]
