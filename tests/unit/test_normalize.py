"""The normalizer on every real file of every era, against a plain reading written here.

The expected values are read with the standard library's json module, one event type at a
time, without the normalizer's helpers, so a mapping mistake shows up as a disagreement.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ghlake.events.normalize import (
    EventTableBuilder,
    MalformedEventError,
    _flat,
    _nested,
    event_key,
    file_time_seconds,
    normalize_line,
)
from ghlake.events.schema import EVENT_COLUMNS, EVENT_SCHEMA, EVENT_TYPES, clickhouse_columns
from ghlake.hours import Hour
from ghlake.synth import SynthConfig
from ghlake.synth.hourfile import generate_hour

REAL_FILES = sorted(
    p.name for p in (Path(__file__).resolve().parents[3] / "shared/data/gharchive").glob("*.gz")
)


def _epoch(text: str | None) -> int:
    if not text:
        return 0
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _row(line: bytes) -> dict[str, Any]:
    values = normalize_line(line, source="gharchive", source_hour="h", file_time=0)
    return dict(zip(EVENT_COLUMNS, values, strict=True))


def _common(event: dict[str, Any]) -> dict[str, Any]:
    """Fields every event has, read plainly for the two record shapes."""
    actor = event.get("actor")
    if isinstance(actor, dict):
        login, actor_id = actor.get("login", ""), actor.get("id", 0)
    else:
        login, actor_id = actor or "", 0
        if actor is None and "actor_attributes" in event:
            login = event["actor_attributes"].get("login", "")
    if "repo" in event:
        repo_name, repo_id = event["repo"].get("name", ""), event["repo"].get("id", 0)
    elif "repository" in event:
        r = event["repository"]
        repo_name, repo_id = f"{r['owner']}/{r['name']}", r.get("id", 0)
    else:
        repo_name, repo_id = "", 0
    org = event.get("org")
    if org:
        org_login = org["login"]
    elif "repository" in event:
        org_login = event["repository"].get("organization") or ""
    else:
        org_login = ""
    return {
        "event_type": event["type"],
        "created_at": _epoch(event["created_at"]),
        "actor_login": login,
        "actor_id": actor_id,
        "repo_name": repo_name,
        "repo_id": repo_id,
        "event_id": int(event["id"]) if "id" in event else 0,
        "org_login": org_login,
    }


def _issue_fields(issue: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": issue["number"],
        "title": issue["title"],
        "state": issue["state"],
        "comments": issue["comments"],
        "labels": [label["name"] for label in issue.get("labels", [])],
        "assignee": (issue.get("assignee") or {}).get("login", ""),
        "closed_at": _epoch(issue.get("closed_at")),
    }


def _pull_fields(pr: dict[str, Any]) -> dict[str, Any]:
    head, base = pr.get("head") or {}, pr.get("base") or {}  # absent from 2011 pull requests
    out = {
        "number": pr["number"],
        "head_ref": head.get("ref", ""),
        "head_sha": head.get("sha", ""),
        "base_ref": base.get("ref", ""),
        "base_sha": base.get("sha", ""),
        "title": pr.get("title", ""),  # absent from the 2025 stubs
        "state": pr.get("state", "none"),
        "merged_at": _epoch(pr.get("merged_at")),
        "merged_by": (pr.get("merged_by") or {}).get("login", ""),
        "merged": int(pr.get("merged", False)),
        "additions": pr.get("additions", 0),
        "deletions": pr.get("deletions", 0),
        "commits": pr.get("commits", 0),
        "changed_files": pr.get("changed_files", 0),
        "review_comments": pr.get("review_comments", 0),
        "requested_reviewers": [u["login"] for u in pr.get("requested_reviewers", [])],
    }
    return out


def _push(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "ref": p["ref"],
        "push_size": p.get("size", 0),
        "push_distinct_size": p.get("distinct_size", 0),
    }


def _create_delete(p: dict[str, Any]) -> dict[str, Any]:
    if "object" in p:  # 2011
        return {"ref_type": p["object"], "ref": p["object_name"] or ""}
    return {"ref_type": p["ref_type"], "ref": p["ref"] or ""}


def _issues(p: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(p["issue"], dict):  # Timeline: the issue's id and its number
        return {"action": p["action"], "number": p["number"]}
    issue = p["issue"]
    return {
        **_issue_fields(issue),
        "action": p["action"],
        "body": issue["body"] or "",
        "creator_user_login": issue["user"]["login"],
    }


def _issue_comment(p: dict[str, Any]) -> dict[str, Any]:
    if "comment" not in p:  # Timeline
        return {"comment_id": p["comment_id"]}
    comment, issue = p["comment"], p["issue"]
    return {
        **_issue_fields(issue),
        "comment_id": comment["id"],
        "action": p["action"],
        "body": comment["body"] or issue["body"] or "",
        "creator_user_login": comment["user"]["login"],
    }


def _pull_request(p: dict[str, Any]) -> dict[str, Any]:
    return {**_pull_fields(p["pull_request"]), "action": p["action"], "number": p["number"]}


def _review_comment(p: dict[str, Any]) -> dict[str, Any]:
    c = p["comment"]
    out = {
        "comment_id": c["id"],
        "path": c["path"],
        "position": c["position"] or 0,
        "diff_hunk": c.get("diff_hunk", ""),
        "commit_id": c["commit_id"],
        "original_commit_id": c["original_commit_id"],
        "original_position": c["original_position"],
        "creator_user_login": c["user"]["login"],
        "body": c["body"],
    }
    if "pull_request" in p:
        out.update(_pull_fields(p["pull_request"]))
    return out


def _review(p: dict[str, Any]) -> dict[str, Any]:
    out = {
        **_pull_fields(p["pull_request"]),
        "review_state": p["review"]["state"],
        "action": p["action"],
    }
    if p["review"]["body"]:
        out["body"] = p["review"]["body"]
    return out


def _commit_comment(p: dict[str, Any]) -> dict[str, Any]:
    if "comment" not in p:  # Timeline and 2011
        return {"comment_id": p["comment_id"], "commit_id": p["commit"]}
    c = p["comment"]
    return {"comment_id": c["id"], "commit_id": c["commit_id"], "body": c["body"]}


def _release(p: dict[str, Any]) -> dict[str, Any]:
    r = p["release"]
    return {
        "release_tag_name": r["tag_name"],
        "release_name": r["name"] or "",
        "action": p["action"],
        "body": r["body"] or "",
    }


def _member(p: dict[str, Any]) -> dict[str, Any]:
    m = p["member"]  # a login string in 2011
    return {"member_login": m if isinstance(m, str) else m["login"], "action": p["action"]}


def _common_only(p: dict[str, Any]) -> dict[str, Any]:
    return {}


BY_TYPE = {
    "PushEvent": _push,
    "CreateEvent": _create_delete,
    "DeleteEvent": _create_delete,
    "IssuesEvent": _issues,
    "IssueCommentEvent": _issue_comment,
    "PullRequestEvent": _pull_request,
    "PullRequestReviewCommentEvent": _review_comment,
    "PullRequestReviewEvent": _review,
    "CommitCommentEvent": _commit_comment,
    "ReleaseEvent": _release,
    "MemberEvent": _member,
    "WatchEvent": lambda p: {"action": p["action"]},
    "GistEvent": lambda p: {"action": p["action"]},
    "GollumEvent": lambda p: {"action": p.get("action", "none")},  # 2011 pages carry actions
    "ForkEvent": _common_only,
    "PublicEvent": _common_only,
    "FollowEvent": _common_only,
    "DownloadEvent": _common_only,
    "ForkApplyEvent": _common_only,
    "TeamAddEvent": _common_only,
}


def expected_fields(event: dict[str, Any]) -> dict[str, Any]:
    """What the typed row must hold for ``event``: common fields, then its type's."""
    return {**_common(event), **BY_TYPE[event["type"]](event.get("payload") or {})}


@pytest.mark.parametrize("name", REAL_FILES)
def test_every_real_event_matches_a_plain_reading(gharchive_dir: Path, name: str) -> None:
    checked: Counter[str] = Counter()
    present: Counter[str] = Counter()
    with gzip.open(gharchive_dir / name, "rb") as handle:
        for raw in handle:
            line = raw.rstrip(b"\n")
            event = json.loads(line)
            present[event["type"]] += 1
            row = _row(line)
            for column, value in expected_fields(event).items():
                assert row[column] == value, (name, event["type"], column, event.get("id"))
            checked[event["type"]] += 1
            assert row["event_key"] == (row["event_id"] or event_key(0, line))
    assert checked == present, "every event of every type present was compared"


def test_every_era_and_type_is_covered(gharchive_dir: Path) -> None:
    types: set[str] = set()
    timeline = early = events_api = 0
    for name in REAL_FILES:
        with gzip.open(gharchive_dir / name, "rb") as handle:
            for raw in handle:
                event = json.loads(raw)
                types.add(event["type"])
                timeline += "repository" in event or isinstance(event.get("actor"), str)
                early += "api.github.dev" in raw.decode()
                events_api += "id" in event
    assert timeline > 10_000
    assert early > 5_000
    assert events_api > 40_000
    assert len(types) == 20, sorted(types)  # all but SponsorshipEvent and Event (2011-06 only)
    assert types <= set(EVENT_TYPES)


def test_trimmed_payloads_of_late_2025() -> None:
    push = (
        b'{"id":"5600000001","type":"PushEvent","actor":{"id":7,"login":"a"},'
        b'"repo":{"id":9,"name":"o/r"},"payload":{"repository_id":9,"push_id":1,'
        b'"ref":"refs/heads/main","head":"ab","before":"cd"},"public":true,'
        b'"created_at":"2025-11-02T10:00:00Z"}'
    )
    row = _row(push)
    assert (row["ref"], row["push_size"], row["push_distinct_size"]) == ("refs/heads/main", 0, 0)
    merged = (
        b'{"id":"5600000002","type":"PullRequestEvent","actor":{"id":7,"login":"a"},'
        b'"repo":{"id":9,"name":"o/r"},"payload":{"action":"merged","number":3,'
        b'"pull_request":{"url":"u","id":1,"number":3,"head":{"ref":"f","sha":"1"},'
        b'"base":{"ref":"main","sha":"2"}}},"public":true,'
        b'"created_at":"2025-11-02T10:00:01Z"}'
    )
    row = _row(merged)
    assert (row["action"], row["number"], row["head_ref"], row["base_sha"]) == (
        "merged",
        3,
        "f",
        "2",
    )
    assert (row["author_association"], row["title"], row["additions"]) == ("NONE", "", 0)


def test_generated_hours_before_and_after_the_cut() -> None:
    # Generated in memory only (never published), so the year does not matter here.
    config = SynthConfig(events_per_hour=1500, seed=3)
    for name, trimmed in (("2019-06-01-12", False), ("2025-11-03-8", True)):
        types: Counter[str] = Counter()
        for line in generate_hour(Hour.parse(name), config):
            event = json.loads(line)
            row = _row(line)
            for column, value in expected_fields(event).items():
                assert row[column] == value, (name, event["type"], column)
            types[event["type"]] += 1
            if event["type"] == "PushEvent":
                assert (row["push_size"] == 0) == trimmed or event["payload"].get("size") == 0
        assert len(types) >= 10


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"type":"PushEvent"}', "created_at"),
        (b'{"type":"NewFancyEvent","created_at":"2019-01-01T00:00:00Z"}', "unknown event type"),
        (b'{"type":"PushEvent","created_at":"2019-01-01T00:00:00Z","payload":[1]}', "payload"),
        (
            b'{"type":"PushEvent","created_at":"2019-01-01T00:00:00Z","payload":{"size":-1}}',
            "size",
        ),
        (
            b'{"type":"IssuesEvent","created_at":"2019-01-01T00:00:00Z",'
            b'"payload":{"issue":{"labels":"bug"}}}',
            "labels",
        ),
        (
            b'{"type":"IssuesEvent","created_at":"2019-01-01T00:00:00Z",'
            b'"payload":{"issue":{"title":{"a":1}}}}',
            "title",
        ),
        (
            b'{"type":"IssuesEvent","created_at":"2019-01-01T00:00:00Z",'
            b'"payload":{"issue":{"closed_at":"yesterday"}}}',
            "timestamp",
        ),
        (
            b'{"type":"PullRequestEvent","created_at":"2019-01-01T00:00:00Z",'
            b'"payload":{"pull_request":"x"}}',
            "pull_request",
        ),
    ],
)
def test_events_it_cannot_map_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(MalformedEventError, match=reason):
        _row(line)


def test_builder_makes_a_table_of_the_schema_that_survives_parquet() -> None:
    extra = pa.field("kafka_offset", pa.int64(), nullable=False)
    builder = EventTableBuilder([extra])
    line = (
        b'{"id":"1","type":"WatchEvent","actor":{"id":2,"login":"a"},"repo":{"id":3,'
        b'"name":"o/r"},"payload":{"action":"started"},"created_at":"2019-05-01T10:00:00Z"}'
    )
    file_time = file_time_seconds("2019-05-01T10:00:00Z")
    created = builder.append(
        line, source="gharchive", source_hour="2019-05-01-10", file_time=file_time, extra=(17,)
    )
    with pytest.raises(MalformedEventError):
        builder.append(b"{}", source="gharchive", source_hour="x", file_time=0, extra=(18,))
    assert created == _epoch("2019-05-01T10:00:00Z")
    assert len(builder) == 1
    table = builder.table()
    assert table.schema.equals(pa.schema([*EVENT_SCHEMA, extra]))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    back = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert back.schema.equals(table.schema, check_metadata=True)
    [row] = back.to_pylist()
    assert (row["event_type"], row["action"], row["kafka_offset"], row["ref_type"]) == (
        "WatchEvent",
        "started",
        17,
        "none",
    )
    assert row["file_time"].isoformat() == "2019-05-01T10:00:00+00:00"
    assert EventTableBuilder().table().num_rows == 0


def test_schema_declares_clickhouse_types_for_every_column() -> None:
    columns = dict(clickhouse_columns())
    assert list(columns) == list(EVENT_COLUMNS)
    assert all(columns.values())
    assert columns["event_type"].startswith("Enum8('CommitCommentEvent' = 1")
    assert columns["labels"] == "Array(LowCardinality(String))"
    assert not any(field.nullable for field in EVENT_SCHEMA)


def test_timeline_events_without_id_get_a_stable_content_key() -> None:
    line = (
        b'{"type":"WatchEvent","actor":"a","repository":{"owner":"o","name":"r","id":5},'
        b'"payload":{"action":"started"},"created_at":"2012-06-14T15:01:39-07:00"}'
    )
    row = _row(line)
    assert row["event_id"] == 0
    assert row["event_key"] == event_key(0, line) == _row(line)["event_key"] > 0
    assert row["created_at"] == _epoch("2012-06-14T22:01:39Z")
    assert event_key(0, line + b" ") != row["event_key"]


def test_the_fast_path_for_flat_payloads_equals_the_full_reading(gharchive_dir: Path) -> None:
    flat = 0
    for name in REAL_FILES:
        with gzip.open(gharchive_dir / name, "rb") as handle:
            for raw in handle:
                payload = json.loads(raw).get("payload") or {}
                nested = ("comment", "issue", "pull_request", "review", "release")
                if any(isinstance(payload.get(k), dict) and payload[k] for k in nested):
                    continue
                empty: dict[str, Any] = {}
                full = _nested(
                    payload, comment=empty, issue=empty, pull=empty, review=empty, release=empty
                )
                assert _flat(payload) == full, (name, payload)
                flat += 1
    assert flat > 30_000


def test_the_content_key_is_clickhouses_city_hash_of_the_line() -> None:
    import chdb  # noqa: PLC0415 (the embedded engine, only for this comparison)

    lines = [
        b'{"type":"WatchEvent","actor":"a","repository":{"owner":"o","name":"r","id":5},'
        b'"payload":{"action":"started"},"created_at":"2012-06-14T15:01:39-07:00"}',
        b"",
        "ünïcödé \u2028 \x00".encode(),
        bytes(range(256)) * 9,  # longer than CityHash's 64-byte blocks, every byte value
    ]
    encoded = ", ".join(f"unhex('{x.hex()}')" for x in lines)
    result = chdb.query(f"SELECT cityHash64(arrayJoin([{encoded}]))", "CSV")
    warehouse = [int(row) for row in str(result).split()]
    assert [event_key(0, line) for line in lines] == warehouse
