"""event_basics on every real file of every era, checked against a plain reading."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghlake.events.identity import MalformedEventError, event_basics, parse_created_at, parse_event

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
