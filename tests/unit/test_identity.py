"""event_basics on every real file of every era, checked against a plain reading; one identity.

An event's identity is :class:`EventIdentity`; the producer (lines), the live poller, the
normalizer (the lake's ``event_key`` column) and lake verify must key the same event alike.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from clickhouse_cityhash.cityhash import CityHash64

from ghlake.events.identity import (
    EventIdentity,
    MalformedEventError,
    event_basics,
    identity_key,
    parse_created_at,
    parse_event,
)
from ghlake.events.normalize import CREATED_AT_INDEX, event_key, normalize_line
from ghlake.events.schema import EVENT_COLUMNS
from ghlake.sources.lines import classify_lines
from ghlake.sources.live_dedup import SeenEvents

KEY_INDEX = EVENT_COLUMNS.index("event_key")
EVENT = b'{"id":"2489651045","type":"WatchEvent","actor":{"id":1,"login":"a"},"repo":{"id":7,"name":"o/r"},"payload":{"action":"started"},"public":true,"created_at":"2015-01-01T15:00:00Z"}'  # noqa: E501
TIMELINE = b'{"type":"WatchEvent","actor":"a","repository":{"owner":"o","name":"r","id":5},"payload":{"action":"started"},"created_at":"2012-06-14T15:01:39-07:00"}'  # noqa: E501

# UTC spans from ../shared/data/gharchive/SOURCES.md.
SPANS = {
    "2011-02-15-0.json.gz": ("2011-02-15T00:00:06", "2011-02-15T00:59:58"),
    "2012-06-14-15.json.gz": ("2012-06-14T22:01:39", "2012-06-14T23:01:37"),
    "2014-02-15-0.json.gz": ("2014-02-15T08:03:54", "2014-02-15T09:03:52"),
    "2015-01-01-1.json.gz": ("2015-01-01T01:00:00", "2015-01-01T01:59:59"),
}


@pytest.mark.parametrize("name", sorted(SPANS))
def test_real_hours_of_every_era(gharchive_dir: Path, name: str) -> None:
    low, high = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in SPANS[name])
    with gzip.open(gharchive_dir / name, "rb") as handle:
        for line in handle:
            plain = json.loads(line)
            basics = event_basics(parse_event(line))
            assert low <= basics.created_at <= high
            assert basics.event_type == plain["type"]
            if isinstance(plain.get("repo"), dict):
                assert basics.repo_name == plain["repo"]["name"]
            elif isinstance(plain.get("repository"), dict):
                repository = plain["repository"]
                assert basics.repo_name == f"{repository['owner']}/{repository['name']}"
                assert basics.event_id is None
            else:  # Timeline events about users or gists carry no repository
                assert basics.repo_name == ""
            actor = plain.get("actor")
            expected = actor.get("login", "") if isinstance(actor, dict) else (actor or "")
            if actor is None and isinstance(plain.get("actor_attributes"), dict):
                expected = plain["actor_attributes"].get("login", "")
            assert basics.actor_login == expected


def test_timestamps_of_each_spelling() -> None:
    utc = datetime(2012, 3, 24, 7, 0, 4, tzinfo=UTC)
    assert parse_created_at("2012/03/24 00:00:04 -0700") == utc
    assert parse_created_at("2012-03-24T00:00:04-07:00") == utc
    assert parse_created_at("2012-03-24T07:00:04Z") == utc


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "not JSON"),
        (b"[1,2]", "not an object"),
        (b'{"type":"PushEvent"}', "created_at"),
        (b'{"created_at":"2015-01-01T00:00:00Z"}', "type"),
        (b'{"type":"X","created_at":"soon"}', "timestamp"),
    ],
)
def test_malformed_lines_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(MalformedEventError, match=reason):
        event_basics(parse_event(line))


# -- EventIdentity ---------------------------------------------------------------------------


def _lake_identity(line: bytes) -> EventIdentity:
    """What the lake stores for ``line``: its (event_key, created_at) columns."""
    row = normalize_line(line, source="gharchive", source_hour="h", file_time=0)
    return EventIdentity(row[KEY_INDEX], row[CREATED_AT_INDEX])


def test_an_identity_is_a_small_ordered_value_printed_as_verify_prints_it() -> None:
    identity = EventIdentity(2489651045, 1420124400)
    assert str(identity) == "2489651045@2015-01-01T15:00:00Z"
    assert identity == (2489651045, 1420124400), "a tuple: the lake's two columns, in order"
    assert hash(identity) == hash(EventIdentity(2489651045, 1420124400))
    assert sorted([EventIdentity(2, 1), EventIdentity(1, 9), EventIdentity(1, 3)]) == [
        (1, 3), (1, 9), (2, 1),
    ]  # fmt: skip
    with pytest.raises(AttributeError):
        identity.key = 1  # type: ignore[misc]


def test_every_spelling_and_kind_of_created_at_makes_the_same_identity() -> None:
    moment = datetime(2012, 6, 14, 22, 1, 39, tzinfo=UTC)
    spellings: list[datetime | str] = [
        "2012-06-14T15:01:39-07:00", "2012-06-14T22:01:39Z", "2012/06/14 15:01:39 -0700",
        moment, moment.astimezone(timezone(timedelta(hours=-7))), moment.replace(tzinfo=None),
    ]  # fmt: skip
    identities = {EventIdentity.of(42, created, b"ignored") for created in spellings}
    assert identities == {EventIdentity(42, int(moment.timestamp()))}


def test_the_key_is_the_id_or_clickhouses_city_hash_of_the_line() -> None:
    assert identity_key(2489651045, EVENT) == 2489651045
    assert identity_key(None, TIMELINE) == identity_key(0, TIMELINE) == CityHash64(TIMELINE)
    assert event_key is identity_key, "the normalizer's event_key column is this function"
    assert EventIdentity.of_event(orjson.loads(TIMELINE), TIMELINE).key == CityHash64(TIMELINE)


def test_what_has_no_readable_created_at_is_identified_by_its_bytes() -> None:
    odd = EVENT.replace(b"2015-01-01T15:00:00Z", b"on new year's day, 3 pm")
    by_bytes = EventIdentity(CityHash64(odd), 0)
    assert EventIdentity.of_event(orjson.loads(odd), odd) == by_bytes
    assert EventIdentity.of(2489651045, "on new year's day, 3 pm", odd) == by_bytes
    for item, line in [([1, 2], b"[1,2]"), ("x", b'"x"'), ({"id": "1"}, b'{"id":"1"}')]:
        assert EventIdentity.of_event(item, line) == (CityHash64(line), 0)
    with pytest.raises(MalformedEventError, match="created_at"):
        normalize_line(odd, source="gharchive", source_hour="h", file_time=0)


def test_ids_are_read_as_the_normalizer_reads_them() -> None:
    created = "2015-01-01T15:00:00Z"
    ids = [("2489651045", 2489651045), (2489651045, 2489651045), ("0", None), (0, None),
           (None, None), (True, None), ("12a", None), ("²", None)]  # fmt: skip
    for raw, key in ids:
        line = orjson.dumps({"id": raw, "created_at": created})
        expected = key if key is not None else CityHash64(line)
        assert EventIdentity.of_event(orjson.loads(line), line) == (expected, 1420124400), raw


def test_the_written_identity_is_finer_than_the_identity() -> None:
    created = "2015-01-01T15:00:00Z"
    assert EventIdentity.as_written("2489651045", created, EVENT) == ("2489651045", created)
    assert EventIdentity.as_written(None, created, TIMELINE) == (CityHash64(TIMELINE), created)
    assert EventIdentity.as_written("0", created, TIMELINE) == (CityHash64(TIMELINE), created)
    # One event spelled two ways: one identity, two written identities. GH Archive writes
    # an hour in one spelling, so within an hour the two agree (see the next test).
    pacific = "2015-01-01T07:00:00-08:00"
    assert EventIdentity.of(1, created, b"") == EventIdentity.of(1, pacific, b"")
    assert EventIdentity.as_written("1", created, b"") != EventIdentity.as_written(
        "1", pacific, b""
    )


@pytest.mark.parametrize(
    "name",
    ["2011-02-15-0.json.gz", "2012-06-14-15.json.gz", "2014-02-15-0.json.gz",
     "2015-01-01-1.json.gz", "events-2014-to-2021-mixed-sample.ndjson.gz"],
)  # fmt: skip
def test_every_stage_keys_the_events_of_a_real_hour_alike(gharchive_dir: Path, name: str) -> None:
    with gzip.open(gharchive_dir / name, "rb") as handle:
        lines = [line.rstrip(b"\n") for line in handle]
    lake: Counter[EventIdentity] = Counter()
    for line in lines:
        identity = _lake_identity(line)  # the normalizer: the lake's and verify's key
        event = orjson.loads(line)
        assert EventIdentity.of_event(event, line) == identity, "the live poller, the export"
        basics = event_basics(parse_event(line))
        assert EventIdentity.of(basics.event_id, basics.created_at, line) == identity
        assert identity.key == event_key(basics.event_id or 0, line)
        if basics.event_id is None:
            assert identity.key == CityHash64(line), "Timeline: cityHash64 of the line"
        else:  # the live poller re-serializes the item; an id keeps the identity
            assert EventIdentity.of_event(event, orjson.dumps(event)) == identity
        lake[identity] += 1

    # The producer dead-letters exactly the repeats of an identity, naming the first.
    outcomes = list(classify_lines(lines))
    assert sum(o.kind == "valid" for o in outcomes) == len(lake)
    first: dict[EventIdentity, int] = {}
    for outcome in outcomes:
        identity = _lake_identity(outcome.value)
        if outcome.kind == "valid":
            first[identity] = outcome.line
        else:
            assert outcome.reason == f"duplicate of line {first[identity]}"

    # The live poller's memory lets each identity through once.
    seen = SeenEvents(capacity=len(lines))
    assert sum(seen.add(EventIdentity.of_event(orjson.loads(x), x)) for x in lines) == len(lake)


def test_one_event_is_one_identity_for_the_producer_the_poller_and_the_lake() -> None:
    for line in (EVENT, TIMELINE):
        out = list(classify_lines([line, line]))
        assert [o.kind for o in out] == ["valid", "dead"]
        assert out[1].reason == "duplicate of line 1"
        seen = SeenEvents(capacity=600)
        key = EventIdentity.of_event(orjson.loads(line), line)
        assert seen.add(key)
        assert not seen.add(EventIdentity.of_event(orjson.loads(line), line))
        assert key == _lake_identity(line)
    assert str(_lake_identity(EVENT)) == "2489651045@2015-01-01T15:00:00Z"
    assert str(_lake_identity(TIMELINE)) == f"{CityHash64(TIMELINE)}@2012-06-14T22:01:39Z"
