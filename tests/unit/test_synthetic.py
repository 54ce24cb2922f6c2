"""The synthetic GH Archive generator, checked against the real archive's shapes and mixes."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ghlake.errors import InvalidInputError
from ghlake.hours import Hour, hour_range
from ghlake.synth import SynthConfig, SynthHourResult, generate_hour, write_hour
from ghlake.synth.eras import EVENT_TYPES, event_id_range, type_mix

REPO_ROOT = Path(__file__).resolve().parents[2]
GHARCHIVE = (REPO_ROOT / "../shared/data/gharchive").resolve()
REAL_2015 = GHARCHIVE / "2015-01-01-1.json.gz"

Event = dict[str, Any]
TOP_KEYS = ["id", "type", "actor", "repo", "payload", "public", "created_at"]
SMALL = SynthConfig(events_per_hour=2_000, seed=3, repositories=5_000, actors=10_000)

# Payload keys every event of a type carries before the 2025 cut (from the real files).
FULL_PAYLOAD_KEYS: dict[str, set[str]] = {
    "PushEvent": {"push_id", "size", "distinct_size", "ref", "head", "before", "commits"},
    "CreateEvent": {"ref", "ref_type", "master_branch", "description", "pusher_type"},
    "DeleteEvent": {"ref", "ref_type", "pusher_type"},
    "WatchEvent": {"action"},
    "ForkEvent": {"forkee"},
    "IssueCommentEvent": {"action", "issue", "comment"},
    "IssuesEvent": {"action", "issue"},
    "PullRequestEvent": {"action", "number", "pull_request"},
    "PullRequestReviewCommentEvent": {"action", "comment", "pull_request"},
    "PullRequestReviewEvent": {"action", "review", "pull_request"},
    "CommitCommentEvent": {"comment"},
    "GollumEvent": {"pages"},
    "ReleaseEvent": {"action", "release"},
    "MemberEvent": {"member", "action"},
    "PublicEvent": set(),
}


def parse(lines: Iterator[bytes]) -> list[Event]:
    return [orjson.loads(line) for line in lines]


@pytest.fixture(scope="module")
def hour_2015() -> list[Event]:
    return parse(generate_hour(Hour.parse("2015-01-01-1"), SynthConfig()))


@pytest.fixture(scope="module")
def hour_2021() -> list[Event]:
    return parse(generate_hour(Hour.parse("2021-01-01-1"), SynthConfig()))


@pytest.fixture(scope="module")
def hour_before_cut() -> list[Event]:
    return parse(generate_hour(Hour.parse("2025-10-06-23"), SynthConfig(events_per_hour=10_000)))


@pytest.fixture(scope="module")
def hour_after_cut() -> list[Event]:
    return parse(generate_hour(Hour.parse("2025-10-07-0"), SynthConfig(events_per_hour=10_000)))


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair nested anywhere in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def by_type(events: list[Event], event_type: str) -> list[Event]:
    found = [event for event in events if event["type"] == event_type]
    assert found, f"no {event_type} generated"
    return found


# -- determinism ------------------------------------------------------------------------------


def test_same_config_gives_the_same_bytes_and_another_seed_does_not() -> None:
    hour = Hour.parse("2019-03-10-14")
    first = list(generate_hour(hour, SMALL))
    assert first == list(generate_hour(hour, SMALL))
    other = list(generate_hour(hour, dataclasses.replace(SMALL, seed=4)))
    assert len(other) == len(first)
    assert other != first
    assert sum(a == b for a, b in zip(first, other, strict=True)) == 0
    # The seed drives the event stream itself (ids, times), not only the population's names.
    ids = [orjson.loads(line)["id"] for line in first]
    assert ids != [orjson.loads(line)["id"] for line in other]


def test_hours_are_independent_streams() -> None:
    first, second = Hour.parse("2019-03-10-14"), Hour.parse("2019-03-10-15")
    assert list(generate_hour(first, SMALL)) != list(generate_hour(second, SMALL))
    # Generating another hour in between changes nothing (no shared state).
    before = list(generate_hour(second, SMALL))
    list(generate_hour(first, SMALL))
    assert list(generate_hour(second, SMALL)) == before


def test_generation_streams_instead_of_building_the_hour() -> None:
    lines = generate_hour(Hour.parse("2015-01-01-1"), SynthConfig(events_per_hour=5_000_000))
    assert iter(lines) is lines
    started = datetime.now()
    first = next(lines)
    assert (datetime.now() - started).total_seconds() < 5
    assert orjson.loads(first)["type"] in EVENT_TYPES


# -- line shape -------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["hour_2015", "hour_2021", "hour_before_cut", "hour_after_cut"])
def test_every_line_has_the_events_api_shape(fixture: str, request: pytest.FixtureRequest) -> None:
    events: list[Event] = request.getfixturevalue(fixture)
    modern = fixture != "hour_2015"
    for event in events:
        keys = list(event)
        assert keys in (TOP_KEYS, [*TOP_KEYS, "org"]), keys
        assert isinstance(event["id"], str)
        assert event["id"].isdigit()
        assert event["type"] in EVENT_TYPES
        assert event["public"] is True
        actor = event["actor"]
        expected = ["id", "login", "gravatar_id", "url", "avatar_url"]
        if modern:
            expected.insert(2, "display_login")
        assert list(actor) == expected
        assert isinstance(actor["id"], int)
        assert actor["url"] == f"https://api.github.com/users/{actor['login']}"
        repo = event["repo"]
        assert list(repo) == ["id", "name", "url"]
        owner, _, name = repo["name"].partition("/")
        assert owner
        assert name
        assert "/" not in name
        assert repo["url"] == f"https://api.github.com/repos/{repo['name']}"
        if "org" in event:
            assert event["org"]["login"] == owner
            assert list(event["org"]) == ["id", "login", "gravatar_id", "url", "avatar_url"]
        assert isinstance(event["payload"], dict)


@pytest.mark.parametrize("fixture", ["hour_2015", "hour_2021", "hour_before_cut"])
def test_payloads_carry_their_types_keys(fixture: str, request: pytest.FixtureRequest) -> None:
    events: list[Event] = request.getfixturevalue(fixture)
    for event in events:
        payload = event["payload"]
        required = FULL_PAYLOAD_KEYS[event["type"]]
        assert required <= set(payload), (event["type"], sorted(payload))
        if event["type"] == "PushEvent":
            assert payload["size"] >= len(payload["commits"])
            assert payload["distinct_size"] <= payload["size"]
            assert payload["ref"].startswith("refs/heads/")
            if payload["commits"]:
                assert payload["head"] == payload["commits"][-1]["sha"]
        if event["type"] == "PullRequestEvent":
            pull = payload["pull_request"]
            assert pull["number"] == payload["number"]
            assert payload["action"] in {"opened", "closed", "reopened"}
            assert pull["state"] == ("closed" if payload["action"] == "closed" else "open")
            assert pull["merged"] is (pull["merged_at"] is not None)
            assert {"head", "base", "additions", "deletions", "changed_files"} <= set(pull)


def test_created_at_lies_inside_the_hour_and_mostly_increases(hour_2015: list[Event]) -> None:
    stamps = [event["created_at"] for event in hour_2015]
    assert all(re.fullmatch(r"2015-01-01T01:\d\d:\d\dZ", stamp) for stamp in stamps)
    assert stamps[0] < "2015-01-01T01:01:00Z"
    assert stamps[-1] > "2015-01-01T01:59:00Z"
    backwards = sum(later < earlier for earlier, later in itertools.pairwise(stamps))
    assert backwards < len(stamps) * 0.01


def test_ids_are_unique_across_hours_with_a_few_inversions() -> None:
    config = dataclasses.replace(SMALL, events_per_hour=5_000)
    seen: set[int] = set()
    total = 0
    for hour in hour_range(Hour.parse("2016-02-29-22"), Hour.parse("2016-03-01-1")):
        ids = [int(orjson.loads(line)["id"]) for line in generate_hour(hour, config)]
        first, end = event_id_range(hour)
        assert all(first <= event_id < end for event_id in ids)
        inversions = sum(b < a for a, b in itertools.pairwise(ids))
        # Real hours: ~24 inversions in 7,427 lines.
        assert 0 < inversions < len(ids) * 0.01
        seen.update(ids)
        total += len(ids)
    assert len(seen) == total


def test_id_gaps_look_like_the_real_hours(hour_2015: list[Event]) -> None:
    ids = [int(event["id"]) for event in hour_2015]
    gaps = sorted(b - a for a, b in itertools.pairwise(ids) if b > a)
    assert 1 <= gaps[len(gaps) // 2] <= 3  # real: median 2, 90th percentile 5-6
    assert gaps[int(len(gaps) * 0.9)] <= 8
    assert 2.48e9 < ids[0] < 2.50e9  # the 2015-01-01 range


# -- mixes and skew ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["hour_2015", "hour_2021", "hour_after_cut"])
def test_type_mix_follows_the_era(fixture: str, request: pytest.FixtureRequest) -> None:
    events: list[Event] = request.getfixturevalue(fixture)
    hour = Hour.containing(datetime.fromisoformat(events[0]["created_at"].replace("Z", "+00:00")))
    expected = type_mix(hour)
    counts = Counter(event["type"] for event in events)
    total = len(events)
    assert set(counts) <= set(expected)
    for name, share in expected.items():
        tolerance = 5 * math.sqrt(share * (1 - share) / total) + 0.002
        assert abs(counts[name] / total - share) <= tolerance, (name, counts[name], share)


def test_era_mixes_match_the_real_archive() -> None:
    mix_2015 = type_mix(Hour.parse("2015-01-01-1"))
    # SOURCES.md: 2015-01-01-1 has Push 4,150 / Create 727 / Watch 649 / IssueComment 651 of 7,427.
    assert 0.53 < mix_2015["PushEvent"] < 0.60
    assert 0.08 < mix_2015["CreateEvent"] < 0.12
    assert 0.07 < mix_2015["WatchEvent"] < 0.12
    assert "PullRequestReviewEvent" not in mix_2015
    assert "PullRequestReviewEvent" in type_mix(Hour.parse("2021-01-01-1"))
    late = type_mix(Hour.parse("2026-07-01-0"))
    assert late["PushEvent"] > 0.85
    assert late["WatchEvent"] < 0.001
    assert late["PullRequestEvent"] < 0.005


def test_every_real_type_is_generated(hour_2015: list[Event], hour_2021: list[Event]) -> None:
    types = {event["type"] for event in hour_2015} | {event["type"] for event in hour_2021}
    assert types == set(EVENT_TYPES)
    assert "PullRequestReviewEvent" not in {event["type"] for event in hour_2015}


def test_repositories_and_actors_are_skewed(hour_2015: list[Event]) -> None:
    total = len(hour_2015)
    repos = Counter(event["repo"]["name"] for event in hour_2015)
    actors = Counter(event["actor"]["login"] for event in hour_2015)
    for counts in (repos, actors):
        ranked = sorted(counts.values(), reverse=True)
        top = ranked[: max(1, len(ranked) // 100)]
        # The top 1% hold ~10% in the real 2015-01-01-1; uniform would give ~1-2%.
        assert sum(top) / total > 0.08
        assert ranked[0] > 20 * ranked[len(ranked) // 2]
        # ...and a long tail: most seen only once or twice.
        assert sum(1 for count in ranked if count <= 2) > len(ranked) * 0.6
    # About a quarter of events carry an org, as in the real hours (27%).
    assert 0.15 < sum("org" in event for event in hour_2015) / total < 0.4


def test_identities_are_stable(hour_2015: list[Event], hour_2021: list[Event]) -> None:
    repo_names: dict[int, str] = {}
    repo_ids: dict[str, int] = {}
    logins: dict[int, str] = {}
    for event in hour_2015 + hour_2021:
        repo = event["repo"]
        assert repo_names.setdefault(repo["id"], repo["name"]) == repo["name"]
        assert repo_ids.setdefault(repo["name"], repo["id"]) == repo["id"]
        actor = event["actor"]
        assert logins.setdefault(actor["id"], actor["login"]) == actor["login"]
    shared = {e["repo"]["name"] for e in hour_2015} & {e["repo"]["name"] for e in hour_2021}
    assert len(shared) > 100  # the same hot repositories in both hours


def test_emails_are_obfuscated_like_gh_archive(hour_2015: list[Event]) -> None:
    emails = [
        commit["author"]["email"]
        for event in by_type(hour_2015, "PushEvent")
        for commit in event["payload"]["commits"]
    ]
    assert emails
    assert all(re.fullmatch(r"[0-9a-f]{40}@[a-z0-9.-]+\.[a-z]+", email) for email in emails)
    assert hashlib.sha1(b"").hexdigest() not in {email.split("@")[0] for email in emails}


# -- the 2025 payload cut ---------------------------------------------------------------------


def test_payloads_are_trimmed_from_2025_10_07(hour_after_cut: list[Event]) -> None:
    for event in by_type(hour_after_cut, "PushEvent"):
        assert list(event["payload"]) == ["repository_id", "push_id", "ref", "head", "before"]
        assert event["payload"]["repository_id"] == event["repo"]["id"]
    actions = set()
    for event in by_type(hour_after_cut, "PullRequestEvent"):
        assert list(event["payload"]) == ["action", "number", "pull_request"]
        assert list(event["payload"]["pull_request"]) == ["url", "id", "number", "head", "base"]
        actions.add(event["payload"]["action"])
    assert "merged" in actions
    for event in by_type(hour_after_cut, "PullRequestReviewEvent"):
        assert list(event["payload"]["pull_request"]) == ["url", "id", "number", "head", "base"]
    assert all("author_association" not in dict(walk(event)) for event in hour_after_cut)
    ids = [int(event["id"]) for event in hour_after_cut]
    assert all(5.5e9 < event_id < 6.0e9 for event_id in ids)  # the reused 2017 range


def test_payloads_are_full_just_before_the_cut(hour_before_cut: list[Event]) -> None:
    for event in by_type(hour_before_cut, "PullRequestEvent"):
        pull = event["payload"]["pull_request"]
        assert {"body", "merged", "additions", "deletions", "author_association"} <= set(pull)
    for event in by_type(hour_before_cut, "IssueCommentEvent"):
        assert "author_association" in event["payload"]["comment"]
    for event in by_type(hour_before_cut, "PushEvent"):
        assert next(iter(event["payload"])) == "repository_id"
    assert min(int(event["id"]) for event in hour_before_cut) > 5e10


# -- hour files -------------------------------------------------------------------------------


def test_write_hour_writes_valid_gzip_ndjson(tmp_path: Path) -> None:
    hour = Hour.parse("2017-06-30-23")
    result = write_hour(hour, tmp_path / "raw", SMALL)
    assert isinstance(result, SynthHourResult)
    assert result.path == tmp_path / "raw" / "2017-06-30-23.json.gz"
    assert result.hour == hour
    assert result.events == SMALL.events_per_hour
    assert result.bytes_written == result.path.stat().st_size
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.events = 0  # type: ignore[misc]
    raw = gzip.decompress(result.path.read_bytes())
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == result.events
    assert lines == list(generate_hour(hour, SMALL))
    counts = Counter(orjson.loads(line)["type"] for line in lines)
    assert dict(result.type_counts) == dict(counts)
    assert sum(result.type_counts.values()) == result.events
    assert [p.name for p in result.path.parent.iterdir()] == [hour.filename]  # no temp files
    # Rewriting replaces the file whole, byte for byte.
    again = write_hour(hour, tmp_path / "raw", SMALL)
    assert again.path.read_bytes() == result.path.read_bytes()


def test_an_empty_hour_is_an_empty_gzip_file(tmp_path: Path) -> None:
    config = dataclasses.replace(SMALL, events_per_hour=0)
    result = write_hour(Hour.parse("2020-02-02-2"), tmp_path, config)
    assert result.events == 0
    assert gzip.decompress(result.path.read_bytes()) == b""
    assert dict(result.type_counts) == {}


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="Timeline"):
        next(generate_hour(Hour.parse("2014-12-31-23"), SMALL))
    with pytest.raises(InvalidInputError):
        SynthConfig(events_per_hour=-1)
    with pytest.raises(InvalidInputError):
        SynthConfig(repositories=0)
    with pytest.raises(InvalidInputError):
        SynthConfig(actors=1)


# -- structural comparison with the real archive -------------------------------------------------


def real_events() -> list[Event]:
    if not REAL_2015.is_file():
        pytest.skip(f"real GH Archive hour not found at {REAL_2015} (the shared data checkout)")
    with gzip.open(REAL_2015, "rb") as handle:
        return [orjson.loads(line) for line in handle]


def key_sets(events: list[Event]) -> dict[tuple[str, str], set[str]]:
    """Keys seen per (type, path) for the payload and its main nested objects."""
    found: dict[tuple[str, str], set[str]] = {}
    nested = ("pull_request", "issue", "comment", "forkee", "release", "member", "review")
    for event in events:
        payload = event["payload"]
        found.setdefault((event["type"], "payload"), set()).update(payload)
        for name in nested:
            if isinstance(payload.get(name), dict):
                found.setdefault((event["type"], name), set()).update(payload[name])
        for commit in payload.get("commits", ()):
            found.setdefault((event["type"], "commit"), set()).update(commit)
    return found


def test_generated_keys_are_a_subset_of_the_real_2015_hour(hour_2015: list[Event]) -> None:
    real = key_sets(real_events())
    generated = key_sets(hour_2015)
    common = set(real) & set(generated)
    assert {key for key in common if key[1] == "payload"} == {
        (name, "payload") for name in EVENT_TYPES if name != "PullRequestReviewEvent"
    }
    for key in sorted(common):
        assert generated[key] <= real[key], (key, sorted(generated[key] - real[key]))
        # Payloads are not thinner than the real ones either.
        assert generated[key] >= real[key] - {"pull_request"}, (key, real[key] - generated[key])


def test_top_level_key_order_matches_the_real_2015_hour(hour_2015: list[Event]) -> None:
    real_orders = {tuple(event) for event in real_events()}
    assert {tuple(event) for event in hour_2015} == real_orders
