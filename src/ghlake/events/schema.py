"""The typed event schema: one pyarrow schema for the lake, the warehouse and Spark.

The columns are those of ClickHouse's public "GitHub Events" dataset
(``github_events``, listed in ../shared/reference/github_events_columns.md), in
its order and with its conventions: nothing is nullable; an empty string, 0 or
1970-01-01 stands for "absent"; an Enum column holds the name of its value, and
"absent" is the name of the Enum's 0 (``none``, ``NONE`` or ``unknown``).
After them come the extras that dataset lacks: event, actor, repository and
organisation ids, the organisation's login, the deduplication key and the
provenance of the row.

Each field carries its ClickHouse type in the field metadata (``clickhouse``)
and, for Enums, the known values in order (``enum``), so the warehouse DDL can
be checked against this one definition. An Enum column keeps a value GitHub
added later (``ready_for_review``, ``FIRST_TIME_CONTRIBUTOR``) as it is rather
than losing it; :func:`enum_values` lists the known ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pyarrow as pa

__all__ = [
    "ENUMS",
    "EVENT_COLUMNS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "clickhouse_columns",
    "enum_values",
]

EVENT_TYPES: tuple[str, ...] = (
    "CommitCommentEvent", "CreateEvent", "DeleteEvent", "ForkEvent", "GollumEvent",
    "IssueCommentEvent", "IssuesEvent", "MemberEvent", "PublicEvent", "PullRequestEvent",
    "PullRequestReviewCommentEvent", "PushEvent", "ReleaseEvent", "SponsorshipEvent",
    "WatchEvent", "GistEvent", "FollowEvent", "DownloadEvent", "PullRequestReviewEvent",
    "ForkApplyEvent", "Event", "TeamAddEvent",
)  # fmt: skip
"""The event types of every era, numbered from 1 as in the dataset's Enum."""

ENUMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "event_type": EVENT_TYPES,
        "action": (
            "none",
            "created",
            "added",
            "edited",
            "deleted",
            "opened",
            "closed",
            "reopened",
            "assigned",
            "unassigned",
            "labeled",
            "unlabeled",
            "review_requested",
            "review_request_removed",
            "synchronize",
            "started",
            "published",
            "update",
            "create",
            "fork",
            "merged",
        ),
        "ref_type": ("none", "branch", "tag", "repository", "unknown"),
        "state": ("none", "open", "closed"),
        "author_association": (
            "NONE",
            "CONTRIBUTOR",
            "OWNER",
            "COLLABORATOR",
            "MEMBER",
            "MANNEQUIN",
        ),
        "mergeable_state": ("unknown", "dirty", "clean", "unstable", "draft", "blocked"),
        "review_state": (
            "none",
            "approved",
            "changes_requested",
            "commented",
            "dismissed",
            "pending",
        ),
    }
)
"""Known values of each Enum column; the first is the one that means "absent"."""

# Parquet has no seconds unit; milliseconds is what a file holds and gives back.
_T = pa.timestamp("ms", tz="UTC")
_S = pa.string()
_STRINGS = pa.list_(pa.field("element", pa.string(), nullable=False))  # Parquet's name
_LC = "LowCardinality(String)"
_LC_ARRAY = "Array(LowCardinality(String))"


def _enum_type(name: str) -> str:
    start = 1 if name == "event_type" else 0
    values = ", ".join(f"'{v}' = {i}" for i, v in enumerate(ENUMS[name], start=start))
    return f"Enum8({values})"


def _field(name: str, arrow: pa.DataType, clickhouse: str) -> pa.Field:
    metadata = {"clickhouse": clickhouse}
    if name in ENUMS:
        metadata["enum"] = ",".join(ENUMS[name])
    return pa.field(name, arrow, nullable=False, metadata=metadata)


_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("file_time", _T, "DateTime"),
    ("event_type", _S, _enum_type("event_type")),
    ("actor_login", _S, _LC),
    ("repo_name", _S, _LC),
    ("created_at", _T, "DateTime"),
    ("updated_at", _T, "DateTime"),
    ("action", _S, _enum_type("action")),
    ("comment_id", pa.uint64(), "UInt64"),
    ("body", _S, "String"),
    ("path", _S, "String"),
    ("position", pa.int32(), "Int32"),
    ("line", pa.int32(), "Int32"),
    ("ref", _S, _LC),
    ("ref_type", _S, _enum_type("ref_type")),
    ("creator_user_login", _S, _LC),
    ("number", pa.uint32(), "UInt32"),
    ("title", _S, "String"),
    ("labels", _STRINGS, _LC_ARRAY),
    ("state", _S, _enum_type("state")),
    ("locked", pa.uint8(), "UInt8"),
    ("assignee", _S, _LC),
    ("assignees", _STRINGS, _LC_ARRAY),
    ("comments", pa.uint32(), "UInt32"),
    ("author_association", _S, _enum_type("author_association")),
    ("closed_at", _T, "DateTime"),
    ("merged_at", _T, "DateTime"),
    ("merge_commit_sha", _S, "String"),
    ("requested_reviewers", _STRINGS, _LC_ARRAY),
    ("requested_teams", _STRINGS, _LC_ARRAY),
    ("head_ref", _S, _LC),
    ("head_sha", _S, "String"),
    ("base_ref", _S, _LC),
    ("base_sha", _S, "String"),
    ("merged", pa.uint8(), "UInt8"),
    ("mergeable", pa.uint8(), "UInt8"),
    ("rebaseable", pa.uint8(), "UInt8"),
    ("mergeable_state", _S, _enum_type("mergeable_state")),
    ("merged_by", _S, _LC),
    ("review_comments", pa.uint32(), "UInt32"),
    ("maintainer_can_modify", pa.uint8(), "UInt8"),
    ("commits", pa.uint32(), "UInt32"),
    ("additions", pa.uint32(), "UInt32"),
    ("deletions", pa.uint32(), "UInt32"),
    ("changed_files", pa.uint32(), "UInt32"),
    ("diff_hunk", _S, "String"),
    ("original_position", pa.uint32(), "UInt32"),
    ("commit_id", _S, "String"),
    ("original_commit_id", _S, "String"),
    ("push_size", pa.uint32(), "UInt32"),
    ("push_distinct_size", pa.uint32(), "UInt32"),
    ("member_login", _S, _LC),
    ("release_tag_name", _S, "String"),
    ("release_name", _S, "String"),
    ("review_state", _S, _enum_type("review_state")),
    # Extras beyond the public dataset.
    ("event_id", pa.uint64(), "UInt64"),  # 0 in the Timeline era (2012-2014), which has no ids
    ("event_key", pa.uint64(), "UInt64"),  # event_id, or cityHash64 of the line when there is none
    ("actor_id", pa.uint64(), "UInt64"),  # 0 before 2015
    ("repo_id", pa.uint64(), "UInt64"),
    ("org_id", pa.uint64(), "UInt64"),
    ("org_login", _S, _LC),
    ("source", _S, _LC),  # gharchive or live
    ("source_hour", _S, _LC),  # the GH Archive hour (file) the event was read from
)

EVENT_SCHEMA: pa.Schema = pa.schema(
    [_field(name, arrow, clickhouse) for name, arrow, clickhouse in _COLUMNS],
    metadata={"ghlake": "typed GitHub events; see ghlake.events.schema"},
)
"""The typed event: the dataset's columns, then ids, the identity key and provenance."""

EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)


def enum_values(column: str) -> tuple[str, ...]:
    """The known values of an Enum column, "absent" first (event_type has no "absent")."""
    try:
        return ENUMS[column]
    except KeyError:
        raise KeyError(f"{column!r} is not an Enum column; Enums: {', '.join(ENUMS)}") from None


def clickhouse_columns(schema: pa.Schema = EVENT_SCHEMA) -> list[tuple[str, str]]:
    """(name, ClickHouse type) of every column, for DDL generation or checks."""
    out = []
    for field in schema:
        metadata = field.metadata or {}
        out.append((field.name, metadata.get(b"clickhouse", b"").decode()))
    return out
