"""The normalizer: any GH Archive event, of any era, to one row of the typed schema.

One function, :func:`normalize_event`, maps an event to a row of
:data:`ghlake.events.schema.EVENT_SCHEMA`; :class:`EventTableBuilder`
collects rows into a pyarrow table. The lake writer and the Spark jobs use the
same code, so the lake and anything Spark writes agree column for column.

The mapping follows the loader of ClickHouse's public dataset, extended to the
older shapes (../shared/reference/gharchive-facts.md):

- ``body``: the first non-empty of the review, comment, issue, pull request and
  release bodies; ``author_association`` likewise from review, comment, issue,
  pull request. ``updated_at`` from the comment, the issue or the pull request.
- The *item* is the issue object when the payload has one, else the pull
  request: ``number`` (or the payload's), ``title``, ``labels``, ``state``,
  ``locked``, ``assignee(s)``, ``comments``, ``closed_at`` come from it;
  ``creator_user_login`` is the comment's author, else the item's.
- Pull-request columns come from ``pull_request``; comment columns (``path``,
  ``position``, ``diff_hunk`` ...) from ``comment``; ``push_size`` and
  ``push_distinct_size`` from PushEvent's ``size`` / ``distinct_size``.
- Timeline era (2012-2014): ``actor`` is a login string, the repository is
  ``repository{owner, name, id, organization}``, there is no event or actor id,
  comments are ``payload.comment_id`` (and ``payload.commit`` for commit
  comments), issues ``payload.issue`` (an id) with ``payload.number``.
- Early archive (2011): CreateEvent names its ref ``object`` / ``object_name``,
  MemberEvent's ``member`` is a login string, ForkEvent's ``forkee`` an id.
- Trimmed payloads (since 2025-10-07): the missing fields are simply absent,
  so PushEvent sizes, pull request details and author associations are 0 or
  empty, and a merge is the PullRequestEvent action ``merged``.

A line that is not such an event raises :class:`MalformedEventError` with the
reason: not JSON, no type or created_at, an unknown event type, or a field of
the wrong kind (an object where a number belongs, a negative count ...). The
caller sends it to the dead-letter topic; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ghlake.events.identity import (
    EventIdentity,
    MalformedEventError,
    identity_fields,
    identity_key,
    parse_event,
    parse_timestamp,
)
from ghlake.events.schema import EVENT_SCHEMA, EVENT_TYPES

__all__ = [
    "CREATED_AT_INDEX",
    "SOURCE_HOUR_INDEX",
    "EventTableBuilder",
    "MalformedEventError",
    "epoch_seconds",
    "event_key",
    "file_time_seconds",
    "normalize_event",
    "normalize_line",
]

_KNOWN_TYPES = frozenset(EVENT_TYPES)
_EMPTY: Mapping[str, Any] = {}
_U32 = (1 << 32) - 1
_U64 = (1 << 64) - 1
_I32 = 1 << 31
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_PER_SECOND = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}

Row = tuple[Any, ...]


event_key = identity_key
"""An event's ``event_key`` column (its id, or cityHash64 of its line): :func:`identity_key`."""


def epoch_seconds(text: str) -> int:
    """Seconds since 1970 (UTC) of a timestamp in any GH Archive spelling."""
    return int((parse_timestamp(text) - _EPOCH).total_seconds())


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _obj(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    # An integer is an id standing for the object (Timeline issues, 2011 forkees).
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return _EMPTY
    raise MalformedEventError(f"{key} is a {_kind(value)}, not an object")


def _text(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise MalformedEventError(f"{what} is a {_kind(value)}, not a string")


def _uint(value: object, what: str, top: int = _U32) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top:
        return value
    raise MalformedEventError(f"{what} is {value!r}, not a count or id")


def _int32(value: object, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and -_I32 <= value < _I32:
        return value
    raise MalformedEventError(f"{what} is {value!r}, not a 32-bit integer")


def _flag(value: object, what: str) -> int:
    if value is None:
        return 0
    if value is True or value is False or value in (0, 1):
        return int(value)
    raise MalformedEventError(f"{what} is {value!r}, not a boolean")


def _time(value: object, what: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        return epoch_seconds(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value  # epoch seconds, as some webhook-era objects carry
    raise MalformedEventError(f"{what} is {value!r}, not a timestamp")


def _login(value: object, what: str) -> str:
    if isinstance(value, dict):
        return _text(value.get("login"), f"{what}.login")
    return _text(value, what)


def _names(value: object, key: str, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedEventError(f"{what} is a {_kind(value)}, not a list")
    return [_text(v.get(key), what) if isinstance(v, dict) else _text(v, what) for v in value]


def _first(*values: object) -> object:
    for value in values:
        if value:
            return value
    return None


def normalize_event(
    event: dict[str, Any], line: bytes, *, source: str, source_hour: str, file_time: int
) -> Row:
    """One row of :data:`EVENT_SCHEMA` (timestamps as epoch seconds), in its column order.

    ``line`` is the original JSON line (the identity of an id-less event);
    ``file_time`` the GH Archive hour's start in epoch seconds (0 when unknown).
    """
    event_id_or_none, event_type, created, actor_login, repo_name, repo_id = identity_fields(event)
    if event_type not in _KNOWN_TYPES:
        raise MalformedEventError(f"unknown event type {event_type!r}")
    payload = event.get("payload")
    if payload is None:
        payload = _EMPTY  # Timeline PublicEvents carry null, some events no payload at all
    elif not isinstance(payload, dict):
        raise MalformedEventError(f"payload is a {_kind(payload)}, not an object")

    comment = _obj(payload, "comment")
    issue = _obj(payload, "issue")
    pull = _obj(payload, "pull_request")
    review = _obj(payload, "review")
    release = _obj(payload, "release")

    actor = event.get("actor")
    actor_id = _uint(actor.get("id"), "actor.id", _U64) if isinstance(actor, dict) else 0
    org = event.get("org")
    repository = event.get("repository")
    if isinstance(org, dict):
        org_id = _uint(org.get("id"), "org.id", _U64)
        org_login = _text(org.get("login"), "org.login")
    elif isinstance(repository, dict):  # Timeline: the owning organisation's login
        org_id, org_login = 0, _text(repository.get("organization"), "repository.organization")
    else:
        org_id, org_login = 0, ""

    event_id = event_id_or_none or 0
    if event_id > _U64 or event_id < 0:
        raise MalformedEventError(f"id {event_id} does not fit 64 bits")
    identity = EventIdentity.of(event_id_or_none, created, line)
    if comment or issue or pull or review or release:
        middle = _nested(
            payload, comment=comment, issue=issue, pull=pull, review=review, release=release
        )
    else:  # most events (pushes, branches, stars, forks): no nested object to read
        middle = _flat(payload)
    return (
        file_time,
        event_type,
        actor_login,
        repo_name,
        identity.created_at,
        *middle,
        event_id,
        identity.key,
        actor_id,
        repo_id or 0,
        org_id,
        org_login,
        source,
        source_hour,
    )


def _ref(payload: Mapping[str, Any]) -> tuple[str, str]:
    # 2011 CreateEvents name the ref "object" (its type) and "object_name".
    ref = payload.get("ref") if "ref" in payload else payload.get("object_name")
    ref_type = payload.get("ref_type") or payload.get("object")
    return _text(ref, "ref"), _text(ref_type, "ref_type") or "none"


def _flat(payload: Mapping[str, Any]) -> Row:
    """The columns from updated_at to review_state of an event without nested objects."""
    ref, ref_type = _ref(payload)
    return (
        0, _text(payload.get("action"), "action") or "none",
        _uint(payload.get("comment_id"), "comment id", _U64), "", "", 0, 0, ref, ref_type, "",
        _uint(payload.get("number"), "number"), "", [], "none", 0, "", [], 0, "NONE", 0, 0, "",
        [], [], "", "", "", "", 0, 0, 0, "unknown", "", 0, 0, 0, 0, 0, 0, "", 0,
        _text(payload.get("commit"), "commit_id"), "", _uint(payload.get("size"), "size"),
        _uint(payload.get("distinct_size"), "distinct_size"),
        _login(payload.get("member"), "member"), "", "", "none",
    )  # fmt: skip


def _nested(
    payload: Mapping[str, Any],
    *,
    comment: Mapping[str, Any],
    issue: Mapping[str, Any],
    pull: Mapping[str, Any],
    review: Mapping[str, Any],
    release: Mapping[str, Any],
) -> Row:
    """The columns from updated_at to review_state, read from the payload's objects."""
    item = issue or pull
    head = _obj(pull, "head")
    base = _obj(pull, "base")
    ref, ref_type = _ref(payload)
    member = payload.get("member")
    return (
        _time(
            comment.get("updated_at") or issue.get("updated_at") or pull.get("updated_at"),
            "updated_at",
        ),
        _text(payload.get("action"), "action") or "none",
        _uint(comment.get("id") or payload.get("comment_id"), "comment id", _U64),
        _text(
            _first(
                review.get("body"),
                comment.get("body"),
                issue.get("body"),
                pull.get("body"),
                release.get("body"),
            ),
            "body",
        ),
        _text(comment.get("path"), "comment.path"),
        _int32(comment.get("position"), "comment.position"),
        _int32(comment.get("line"), "comment.line"),
        ref,
        ref_type,
        _login(comment.get("user") or item.get("user"), "user"),
        _uint(item.get("number") or payload.get("number"), "number"),
        _text(item.get("title"), "title"),
        _names(item.get("labels"), "name", "labels"),
        _text(item.get("state"), "state") or "none",
        _flag(item.get("locked"), "locked"),
        _login(item.get("assignee"), "assignee"),
        _names(item.get("assignees"), "login", "assignees"),
        _uint(item.get("comments"), "comments"),
        _text(
            _first(
                review.get("author_association"),
                comment.get("author_association"),
                issue.get("author_association"),
                pull.get("author_association"),
            ),
            "author_association",
        )
        or "NONE",
        _time(item.get("closed_at"), "closed_at"),
        _time(pull.get("merged_at"), "merged_at"),
        _text(pull.get("merge_commit_sha"), "merge_commit_sha"),
        _names(pull.get("requested_reviewers"), "login", "requested_reviewers"),
        _names(pull.get("requested_teams"), "name", "requested_teams"),
        _text(head.get("ref"), "head.ref"),
        _text(head.get("sha"), "head.sha"),
        _text(base.get("ref"), "base.ref"),
        _text(base.get("sha"), "base.sha"),
        _flag(pull.get("merged"), "merged"),
        _flag(pull.get("mergeable"), "mergeable"),
        _flag(pull.get("rebaseable"), "rebaseable"),
        _text(pull.get("mergeable_state"), "mergeable_state") or "unknown",
        _login(pull.get("merged_by"), "merged_by"),
        _uint(pull.get("review_comments"), "review_comments"),
        _flag(pull.get("maintainer_can_modify"), "maintainer_can_modify"),
        _uint(pull.get("commits"), "commits"),
        _uint(pull.get("additions"), "additions"),
        _uint(pull.get("deletions"), "deletions"),
        _uint(pull.get("changed_files"), "changed_files"),
        _text(comment.get("diff_hunk"), "diff_hunk"),
        _uint(comment.get("original_position"), "original_position"),
        _text(comment.get("commit_id") or payload.get("commit"), "commit_id"),
        _text(comment.get("original_commit_id"), "original_commit_id"),
        _uint(payload.get("size"), "size"),
        _uint(payload.get("distinct_size"), "distinct_size"),
        _login(member, "member"),
        _text(release.get("tag_name"), "release.tag_name"),
        _text(release.get("name"), "release.name"),
        _text(review.get("state"), "review.state") or "none",
    )


def normalize_line(line: bytes, *, source: str, source_hour: str, file_time: int) -> Row:
    """Parse and normalize one JSON line, or raise :class:`MalformedEventError`."""
    return normalize_event(
        parse_event(line), line, source=source, source_hour=source_hour, file_time=file_time
    )


CREATED_AT_INDEX = EVENT_SCHEMA.get_field_index("created_at")
SOURCE_HOUR_INDEX = EVENT_SCHEMA.get_field_index("source_hour")
"""Where created_at (epoch seconds) sits in a row of :func:`normalize_event`."""


class EventTableBuilder:
    """Collects normalized rows and builds a pyarrow table of the typed schema.

    ``extra`` fields (the lake's Kafka partition and offset, say) are appended
    after the event columns; their values are passed to :meth:`append`. Rows
    are turned into Arrow record batches every ``chunk_rows`` rows, so a large
    batch is never held as Python objects all at once.
    """

    def __init__(self, extra: Iterable[pa.Field] = (), chunk_rows: int = 4096) -> None:
        self.schema = pa.schema([*EVENT_SCHEMA, *extra], metadata=EVENT_SCHEMA.metadata)
        self.chunk_rows = chunk_rows
        self._rows: list[Row] = []
        self._batches: list[pa.RecordBatch] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(
        self,
        line: bytes,
        *,
        source: str,
        source_hour: str,
        file_time: int,
        extra: tuple[Any, ...] = (),
    ) -> int:
        """Normalize ``line`` and keep its row; return its created_at (epoch seconds).

        Raises :class:`MalformedEventError` and keeps nothing when the line is
        not an event the schema can hold.
        """
        row = normalize_line(line, source=source, source_hour=source_hour, file_time=file_time)
        self.add_row(row + extra)
        created_at: int = row[CREATED_AT_INDEX]
        return created_at

    def add_row(self, row: Row) -> bool:
        """Keep a row made by :func:`normalize_event`, with the extra values appended.

        True when it completed a chunk, which is now a record batch (:meth:`drain`).
        """
        self._rows.append(row)
        self._count += 1
        if len(self._rows) >= self.chunk_rows:
            self._flush()
            return True
        return False

    def _flush(self) -> None:
        if self._rows:
            columns = zip(*self._rows, strict=True)
            arrays = [
                _array(values, field.type)
                for values, field in zip(columns, self.schema, strict=True)
            ]
            self._batches.append(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
            self._rows = []

    def table(self) -> pa.Table:
        """The rows collected so far as a table of :attr:`schema`."""
        self._flush()
        return pa.Table.from_batches(self._batches, schema=self.schema)

    def drain(self, *, flush: bool = False) -> list[pa.RecordBatch]:
        """Hand over the record batches made so far (and the pending rows, with ``flush``).

        For writers that encode as they go instead of holding a whole table.
        """
        if flush:
            self._flush()
        batches, self._batches = self._batches, []
        return batches


def _array(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):  # rows hold epoch seconds
        seconds = pa.array(values, type=pa.int64())
        return pc.multiply(seconds, _UNIT_PER_SECOND[kind.unit]).cast(kind)
    return pa.array(values, type=kind)


def file_time_seconds(text: str | bytes | None) -> int:
    """The ``file_time`` header (ISO 8601) as epoch seconds; 0 when absent or unreadable."""
    if not text:
        return 0
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return epoch_seconds(text)
    except MalformedEventError:
        return 0
