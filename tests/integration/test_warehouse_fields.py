"""github_events against the raw files: per-type counts on every real hour, mapped fields
of a sample of every type and era, and the aggregates against github_events itself.

Real whole hours come from the session's ``real_hours`` fixture (replayed once). The
extracts (events-*, api-events-*) and two generated hours (2020, and 2026 with the
payloads trimmed since 2025-10-07) are published here, under their own hour labels.
"""

from __future__ import annotations

import gzip
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ghlake.events.normalize import normalize_line
from ghlake.events.provenance import Provenance
from ghlake.events.schema import EVENT_COLUMNS
from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.platform import Platform
from ghlake.synth import SynthConfig, write_hour
from ghlake.warehouse.client import WarehouseClient
from tests.conftest import replay

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GENERATED = ("2020-06-01-10", "2026-03-01-5")
ENUMS = {"event_type", "action", "ref_type", "state", "author_association", "review_state"}
TIMES = {"created_at", "closed_at", "merged_at"}

ACTIONS = {
    "created", "added", "edited", "deleted", "opened", "closed", "reopened", "assigned",
    "unassigned", "labeled", "unlabeled", "review_requested", "review_request_removed",
    "synchronize", "started", "published", "update", "create", "fork", "merged",
}  # fmt: skip
ASSOCIATIONS = {"CONTRIBUTOR", "OWNER", "COLLABORATOR", "MEMBER", "MANNEQUIN"}
EPOCH = "1970-01-01 00:00:00"


def utc_text(value: Any) -> str:
    """A timestamp of any era as 'YYYY-MM-DD HH:MM:SS' UTC; absent -> the epoch."""
    if not isinstance(value, str) or not value:
        return EPOCH
    if "/" in value:
        moment = datetime.strptime(value, "%Y/%m/%d %H:%M:%S %z")
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _first(*values: Any) -> Any:
    for value in values:
        if value:
            return value
    return values[-1] if values else None


def expected_row(event: dict[str, Any]) -> dict[str, Any]:
    """The mapped columns of ``event``, as the SQL endpoint returns them."""
    kind = event["type"]
    p = _obj(event.get("payload"))
    pr, cmt, rvw, rel = (_obj(p.get(k)) for k in ("pull_request", "comment", "review", "release"))
    iss = _obj(p.get("issue"))  # an object since 2012; a bare id in the Timeline era
    actor = event.get("actor")
    if isinstance(actor, dict):
        login = _str(actor.get("login"))
    elif isinstance(actor, str):
        login = actor
    else:
        login = _str(_obj(event.get("actor_attributes")).get("login"))
    repo, timeline_repo = event.get("repo"), _obj(event.get("repository"))
    if isinstance(repo, dict):
        repo_name, repo_id = _str(repo.get("name")), _int(repo.get("id"))
    else:
        owner, name = _str(timeline_repo.get("owner")), _str(timeline_repo.get("name"))
        repo_name = f"{owner}/{name}" if owner else name
        repo_id = _int(timeline_repo.get("id"))
    org = event.get("org")
    raw_action = _str(p.get("action"))
    if not raw_action and kind == "GollumEvent" and p.get("pages"):
        raw_action = _str(_obj(p["pages"][0]).get("action"))
    association = _first(*(_str(o.get("author_association")) for o in (rvw, cmt, iss, pr)))
    state = _first(_str(iss.get("state")), _str(pr.get("state")))
    ref_type = _str(p.get("ref_type"))
    member = p.get("member")
    comment_id = _int(cmt.get("id")) if cmt else _int(p.get("comment_id"))
    merged = bool(pr.get("merged")) or (kind == "PullRequestEvent" and raw_action == "merged")
    return {
        "event_type": kind,
        "actor_login": login,
        "repo_name": repo_name,
        "created_at": utc_text(event["created_at"]),
        "action": raw_action if raw_action in ACTIONS else "none",
        "payload_action": raw_action,
        "comment_id": comment_id,
        "body": _first(*(_str(o.get("body")) for o in (rvw, cmt, iss, pr, rel))),
        "path": _str(cmt.get("path")),
        "ref": _str(p.get("ref")),
        "ref_type": ref_type if ref_type in ("branch", "tag", "repository") else
        ("none" if not ref_type else "unknown"),
        "creator_user_login": _first(
            *(_str(_obj(o.get(k)).get("login"))
              for o, k in ((cmt, "user"), (rvw, "user"), (iss, "user"), (pr, "user"),
                           (rel, "author")))),
        "number": _first(_int(iss.get("number")), _int(pr.get("number")), _int(p.get("number"))),
        "title": _first(_str(iss.get("title")), _str(pr.get("title"))),
        "labels": [_str(_obj(x).get("name")) for x in iss.get("labels") or pr.get("labels") or []],
        "state": state if state in ("open", "closed") else "none",
        "author_association": association if association in ASSOCIATIONS else "NONE",
        "closed_at": utc_text(_first(iss.get("closed_at"), pr.get("closed_at"))),
        "merged_at": utc_text(pr.get("merged_at")),
        "head_ref": _str(_obj(pr.get("head")).get("ref")),
        "base_sha": _str(_obj(pr.get("base")).get("sha")),
        "merged": int(merged),
        "merged_by": _str(_obj(pr.get("merged_by")).get("login")),
        "additions": _int(pr.get("additions")),
        "deletions": _int(pr.get("deletions")),
        "diff_hunk": _str(cmt.get("diff_hunk")),
        "commit_id": _first(_str(cmt.get("commit_id")), _str(rvw.get("commit_id")),
                            _str(p.get("commit"))),
        "push_size": _int(p.get("size")) if kind == "PushEvent" else 0,
        "push_distinct_size": _int(p.get("distinct_size")) if kind == "PushEvent" else 0,
        "member_login": member if isinstance(member, str) else _str(_obj(member).get("login")),
        "release_tag_name": _str(rel.get("tag_name")),
        "review_state": _str(rvw.get("state")) or "none",
        "event_id": _int(event.get("id")),
        "actor_id": _int(actor.get("id")) if isinstance(actor, dict) else 0,
        "repo_id": repo_id,
        "org_login": _str(org.get("login")) if isinstance(org, dict) else
        _str(timeline_repo.get("organization")),
    }  # fmt: skip


COLUMNS = list(expected_row({"type": "WatchEvent", "created_at": "2015-01-01T00:00:00Z"}))


def _identity(line: bytes, event: dict[str, Any]) -> tuple[object, str]:
    """(id, created_at) as the warehouse deduplicates; the Timeline era has no id: the line."""
    event_id = _int(event.get("id"))
    return (event_id if event_id else line, utc_text(event["created_at"]))


def _read(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        return [line.rstrip(b"\n") for line in handle if line.strip()]


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[WarehouseClient]:
    client = WarehouseClient(platform.settings.warehouse.url, token=platform.settings.api_token)
    yield client
    client.close()


@pytest.fixture(scope="module")
def other_sources(
    platform: Platform, gharchive_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[bytes]]:
    """The extracts and two generated hours, published once; label -> lines."""
    sources: dict[str, list[bytes]] = {}
    publisher = platform.publisher()
    for path in sorted(gharchive_dir.glob("*events-*.ndjson.gz")):
        label = "extract-" + path.name.removesuffix(".ndjson.gz")
        sources[label] = _read(path)
        result = publisher.publish_lines(sources[label], Provenance("gharchive", label, ""))
        assert result.published == len(sources[label])
    folder = tmp_path_factory.mktemp("generated")
    for name in GENERATED:
        write_hour(Hour.parse(name), folder, SynthConfig(events_per_hour=1500, seed=11))
        sources[name] = _read(folder / f"{name}.json.gz")
    reports = replay(platform, str(folder), [Hour.parse(name) for name in GENERATED])
    assert all(r.status == "published" for r in reports), reports
    expected = {label: len({_identity(x, orjson.loads(x)) for x in lines})
                for label, lines in sources.items()}  # fmt: skip
    deadline = time.monotonic() + 180
    while platform.warehouse.counts_by_source_hour(expected) != expected:
        assert time.monotonic() < deadline, platform.warehouse.counts_by_source_hour(expected)
        time.sleep(1)
    return sources


def _type_counts(client: WarehouseClient, labels: list[str]) -> dict[str, Counter[str]]:
    result = client.sql(
        "SELECT source_hour, toString(event_type) AS type, count() AS n FROM github_events FINAL "
        f"WHERE source_hour IN ({', '.join(repr(x) for x in labels)}) GROUP BY source_hour, type"
    )
    counts: dict[str, Counter[str]] = {label: Counter() for label in labels}
    for label, kind, n in result.rows:
        counts[label][kind] = int(n)
    return counts


def test_every_real_hour_has_the_raw_files_counts_per_type(
    client: WarehouseClient,
    gharchive_dir: Path,
    real_hours: dict[str, int],
    real_hours_reconciled: list[HourCounts],
) -> None:
    assert all(c.reconciled for c in real_hours_reconciled), real_hours_reconciled
    counted = _type_counts(client, sorted(real_hours))
    for hour in real_hours:
        seen: dict[tuple[object, str], str] = {}
        for line in _read(gharchive_dir / f"{hour}.json.gz"):
            event = orjson.loads(line)
            seen[_identity(line, event)] = event["type"]
        assert counted[hour] == Counter(seen.values()), hour


def test_extracts_and_generated_hours_have_their_counts_per_type(
    client: WarehouseClient, other_sources: dict[str, list[bytes]]
) -> None:
    counted = _type_counts(client, sorted(other_sources))
    for label, lines in other_sources.items():
        seen = {_identity(x, e): e["type"] for x in lines for e in [orjson.loads(x)]}
        assert counted[label] == Counter(seen.values()), label


def _sample(lines: list[bytes], per_type: int = 4) -> dict[int, dict[str, Any]]:
    """Line number -> event, a few of each type spread over the file, identity unique."""
    by_identity = Counter(_identity(x, orjson.loads(x)) for x in lines)
    by_type: dict[str, list[int]] = {}
    for number, line in enumerate(lines, start=1):
        event = orjson.loads(line)
        if by_identity[_identity(line, event)] == 1:
            by_type.setdefault(event["type"], []).append(number)
    picked = {}
    for numbers in by_type.values():
        step = max(len(numbers) // per_type, 1)
        for number in numbers[::step][:per_type]:
            picked[number] = orjson.loads(lines[number - 1])
    return picked


def test_mapped_fields_of_every_type_and_era_match_the_json(
    client: WarehouseClient,
    gharchive_dir: Path,
    real_hours: dict[str, int],
    real_hours_reconciled: list[HourCounts],
    other_sources: dict[str, list[bytes]],
) -> None:
    sources = {hour: _read(gharchive_dir / f"{hour}.json.gz") for hour in real_hours}
    sources.update(other_sources)
    select = ", ".join(f"toString({c}) AS {c}" if c in ENUMS | TIMES else c for c in COLUMNS)
    checked: Counter[str] = Counter()
    for label, lines in sources.items():
        sample = _sample(lines)
        result = client.sql(
            f"SELECT source_line, {select} FROM github_events FINAL "
            f"WHERE source_hour = '{label}' AND source_line IN ({', '.join(map(str, sample))})"
        )
        rows = {int(r[0]): dict(zip(result.columns[1:], r[1:], strict=True)) for r in result.rows}
        assert set(rows) == set(sample), label
        for number, event in sample.items():
            expected, row = expected_row(event), rows[number]
            got = {k: int(v) if isinstance(expected[k], int) else v for k, v in row.items()}
            assert got == expected, f"{label} line {number} ({event['type']})"
            checked[event["type"]] += 1
    assert len(checked) >= 20, checked  # every type of every era in the samples


def test_trimmed_2026_payloads_map_to_absent_values(
    client: WarehouseClient, other_sources: dict[str, list[bytes]]
) -> None:
    result = client.sql(
        "SELECT toString(event_type) AS t, max(push_size) AS size, max(commits) AS commits, "
        "countIf(author_association != 'NONE') AS associations, countIf(merged = 1) AS merged "
        f"FROM github_events WHERE source_hour = '{GENERATED[1]}' GROUP BY t"
    )
    by_type = {row[0]: dict(zip(result.columns[1:], row[1:], strict=True)) for row in result.rows}
    assert int(by_type["PushEvent"]["size"]) == 0, "no size since the 2025 cut"
    assert int(by_type["PullRequestEvent"]["commits"]) == 0
    assert all(int(v["associations"]) == 0 for v in by_type.values())
    assert int(by_type["PullRequestEvent"]["merged"]) > 0, "merges come from action 'merged'"


def test_aggregates_agree_with_github_events(
    client: WarehouseClient, real_hours_reconciled: list[HourCounts]
) -> None:
    day = date(2015, 1, 1)
    since, until = datetime(2015, 1, 1), datetime(2015, 1, 2)
    direct = client.sql(
        "SELECT toString(event_type) AS t, count() AS n FROM github_events FINAL "
        "WHERE created_at >= '2015-01-01 00:00:00' AND created_at < '2015-01-02 00:00:00' "
        "GROUP BY t"
    )
    assert {c.event_type: c.events for c in client.event_type_counts(since, until)} == {
        t: int(n) for t, n in direct.rows
    }
    stars = client.sql(
        "SELECT repo_name, uniqExact(actor_login) AS n FROM github_events FINAL "
        "WHERE event_type = 'WatchEvent' AND toDate(created_at) = '2015-01-01' "
        "GROUP BY repo_name ORDER BY n DESC, repo_name LIMIT 5"
    )
    top = client.top_repositories("stars", day, date(2015, 1, 2), limit=5)
    assert [(r.repo_name, r.value) for r in top] == [(n, int(v)) for n, v in stars.rows]
    actors = client.sql(
        "SELECT uniqExact(actor_login) FROM github_events FINAL "
        "WHERE toDate(created_at) = '2015-01-01' AND actor_login != ''"
    )
    [daily] = client.active_actors(day, date(2015, 1, 2))
    assert daily.actors == int(actors.rows[0][0])
    prs = client.sql(
        "SELECT uniqExactIf(number, action = 'opened'), "
        "uniqExactIf(number, merged = 1 AND action IN ('closed', 'merged')) FROM "
        "(SELECT repo_name, number, action, merged FROM github_events FINAL "
        " WHERE event_type = 'PullRequestEvent' AND toDate(created_at) = '2015-01-01') "
        "GROUP BY repo_name"
    )
    [pr_day] = client.pull_requests_daily(day, date(2015, 1, 2))
    assert (pr_day.opened, pr_day.merged) == (
        sum(int(r[0]) for r in prs.rows),
        sum(int(r[1]) for r in prs.rows),
    )
    assert pr_day.merged > 0


def test_an_organizations_timeline_repository_is_named_with_the_organization(
    platform: Platform, client: WarehouseClient
) -> None:
    """Timeline repositories of organizations may carry owner "" (url github.com//name)."""
    label = "constructed-org-owner"
    lines = [
        b'{"type":"WatchEvent","actor":"a","repository":{"owner":"","name":"linux","id":7,'
        b'"organization":"torvalds-org","url":"https://github.com//linux"},'
        b'"payload":{"action":"started"},"created_at":"2013-02-01T10:00:00-08:00"}',
        b'{"type":"WatchEvent","actor":"b","repository":{"owner":"mojombo","name":"grit","id":8,'
        b'"organization":"github"},"payload":{"action":"started"},'
        b'"created_at":"2013-02-01T10:00:01-08:00"}',
    ]
    published = platform.publisher().publish_lines(lines, Provenance("gharchive", label, ""))
    assert published.published == 2
    expected = ["mojombo/grit", "torvalds-org/linux"]
    name = EVENT_COLUMNS.index("repo_name")
    lake = sorted(
        normalize_line(x, source="gharchive", source_hour=label, file_time=0)[name] for x in lines
    )
    assert lake == expected  # the lake's mapping
    deadline = time.monotonic() + 60
    query = f"SELECT repo_name FROM github_events WHERE source_hour = '{label}' ORDER BY 1"
    while (names := [row[0] for row in client.sql(query).rows]) != expected:
        assert time.monotonic() < deadline, names
        time.sleep(0.5)
