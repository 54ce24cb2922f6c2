"""What makes an event itself, and the few fields every consumer needs from it, in every era.

GH Archive holds two record shapes (see ../shared/reference/gharchive-facts.md):
the Events API shape since 2015 (and, with api.github.dev URLs, 2011-2012) and
the Timeline shape of 2012-2014, where ``actor`` is a login string, the
repository is ``repository{owner, name, id}``, ids are missing and
``created_at`` carries a US-Pacific offset. :func:`event_basics` reads both.
The full typed normalizer builds on this.

**Identity.** An event is :class:`EventIdentity` ``(key, created_at)``: the key
is the event id, or for an event without one (the Timeline era) ClickHouse's
``cityHash64`` of the original line (:func:`identity_key`); ``created_at`` is
whole seconds since the epoch, in UTC. The id alone is not enough: GitHub
reuses ids (ids issued since 2026-08 collide with 2020 ids). This is the
lake's ``(event_key, created_at)`` and the warehouse's, so every stage that
deduplicates (the producer, the live poller, the lake export, lake verify)
compares events the way the stores do.

An event whose ``created_at`` cannot be read has no place in time; it is
identified by its bytes alone, ``(cityHash64(line), 0)``: an identical line
is the same event, any other line is another (the normalizer dead-letters it
later, with the reason).

The producer's hot path does not parse ``created_at`` on every line: it keys
on :meth:`EventIdentity.as_written`, the id and ``created_at`` as the line
writes them, which is finer than the identity and, within one archive hour,
the same (that method says why, and what parsing would cost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from clickhouse_cityhash.cityhash import CityHash64

from ghlake.errors import MalformedEventError

__all__ = [
    "EventBasics",
    "EventIdentity",
    "IdentityFields",
    "MalformedEventError",
    "WrittenIdentity",
    "event_basics",
    "identity_fields",
    "identity_key",
    "parse_created_at",
    "parse_event",
    "parse_timestamp",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class EventBasics:
    """Identity and routing fields of one event."""

    event_id: int | None  # None in the Timeline era, which has no ids
    event_type: str
    created_at: datetime  # UTC
    actor_login: str
    repo_name: str
    repo_id: int | None


def parse_event(line: bytes) -> dict[str, Any]:
    """Parse one JSON line into an object, or raise :class:`MalformedEventError`."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise MalformedEventError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedEventError(f"a JSON {type(value).__name__}, not an object")
    return value


def parse_timestamp(text: str) -> datetime:
    """A GH Archive timestamp in any of its spellings (Z, -07:00, 2012/03/24 ... -0700), in UTC."""
    try:
        if "/" in text:
            moment = datetime.strptime(text, "%Y/%m/%d %H:%M:%S %z")
        else:
            moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedEventError(f"{text!r} is not a timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_created_at(text: str) -> datetime:
    """An event's ``created_at`` in any GH Archive spelling, in UTC."""
    try:
        return parse_timestamp(text)
    except MalformedEventError as exc:
        raise MalformedEventError(f"created_at {exc}") from exc


def _int_or_none(value: object) -> int | None:
    """An id as JSON holds it (an integer or a string of digits) as an int, else None."""
    # Exact types, not isinstance: faster on the producer's hot path, and a bool is no id.
    # isdecimal, not isdigit: int() refuses digits such as "²" that isdigit accepts.
    if type(value) is str:
        return int(value) if value.isdecimal() else None
    if type(value) is int:
        return value
    return None


def event_basics(event: dict[str, Any]) -> EventBasics:
    """Identity fields of ``event`` in any era, or :class:`MalformedEventError`."""
    return EventBasics(*identity_fields(event))


IdentityFields = tuple[int | None, str, datetime, str, str, int | None]


def identity_fields(event: dict[str, Any]) -> IdentityFields:
    """:class:`EventBasics`' fields as a plain tuple (for hot loops; same rules)."""
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedEventError("no event type")
    created = event.get("created_at")
    if not isinstance(created, str):
        raise MalformedEventError("no created_at")

    actor = event.get("actor")
    if isinstance(actor, dict):
        actor_login = actor.get("login") or ""
    elif isinstance(actor, str):
        actor_login = actor
    else:  # anonymous events (Timeline GistEvents) carry actor null
        attributes = event.get("actor_attributes")
        actor_login = attributes.get("login", "") if isinstance(attributes, dict) else ""

    repo = event.get("repo")
    repository = event.get("repository")
    if isinstance(repo, dict):
        repo_name = repo.get("name") or ""
        repo_id = _int_or_none(repo.get("id"))
    elif isinstance(repository, dict):
        # An organization's repository may carry owner "" (its url reads
        # https://github.com//name): the organization is the owner then.
        owner = repository.get("owner") or repository.get("organization") or ""
        name = repository.get("name") or ""
        repo_name = f"{owner}/{name}" if owner and name else name
        repo_id = _int_or_none(repository.get("id"))
    else:
        repo_name, repo_id = "", None

    return (
        _int_or_none(event.get("id")),
        event_type,
        parse_created_at(created),
        str(actor_login),
        str(repo_name),
        repo_id,
    )


def identity_key(event_id: int | None, line: bytes) -> int:
    """The key of an event's identity: its id, or cityHash64 of its original line when it has none.

    The hash is CityHash64 v1.0.2, ClickHouse's ``cityHash64``: the warehouse computes
    the same key from the same line (``if(github_id > 0, github_id, cityHash64(message))``),
    so lake and warehouse rows compare event by event. An id of 0 counts as none.
    """
    if event_id:
        return event_id
    return int(CityHash64(line))


WrittenIdentity = tuple[int | str, str]
"""The id (or the identity key) and ``created_at`` as written: :meth:`EventIdentity.as_written`."""


class EventIdentity(NamedTuple):
    """An event's identity: its key (id or line hash) and when it was created, in UTC seconds.

    A named tuple of two ints rather than a dataclass: it is hashed and compared in
    the hot loops of the producer, the live poller and the export, the lake's
    ``(event_key, created_at)`` columns map onto it directly, and it sorts by key,
    then time. GH Archive timestamps have whole seconds, as has the warehouse's
    ``DateTime``. Being a tuple, it equals the plain tuple ``(key, created_at)``.
    """

    key: int
    created_at: int  # seconds since 1970-01-01 UTC; 0 when the event's time is unreadable

    @classmethod
    def of(cls, event_id: int | None, created_at: datetime | str, line: bytes) -> EventIdentity:
        """The identity of the event ``line``, given its id (None without one) and created_at.

        ``created_at`` is a datetime (naive means UTC) or the text as written, in any
        GH Archive spelling (:func:`parse_created_at`). Text that is no timestamp
        gives the identity of the bytes alone, ``(cityHash64(line), 0)``.
        """
        if isinstance(created_at, str):
            try:
                created_at = parse_created_at(created_at)
            except MalformedEventError:
                return cls(identity_key(None, line), 0)
        elif created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        return cls(identity_key(event_id, line), (created_at - _EPOCH) // _SECOND)

    @classmethod
    def of_event(cls, event: object, line: bytes) -> EventIdentity:
        """The identity of a parsed event (any JSON value) whose original bytes are ``line``.

        The id is read as :func:`identity_fields` reads it (an integer or a string of
        digits); anything that is not an object with a ``created_at`` string is
        identified by its bytes alone, so a malformed item is still recognised when
        it comes again.
        """
        if isinstance(event, dict):
            created = event.get("created_at")
            if isinstance(created, str):
                return cls.of(_int_or_none(event.get("id")), created, line)
        return cls(identity_key(None, line), 0)

    @staticmethod
    def as_written(event_id: object, created_at: str, line: bytes) -> WrittenIdentity:
        """The identity with the id and ``created_at`` as the line writes them: for hot paths.

        The producer's line classifier runs once per line of every hour, about 9 µs a
        line. :meth:`of_event` there (parsing ``created_at``, building the tuple) costs
        about 2 µs a line, a fifth of its time; this key costs 0.15-0.25 µs (2015-01-01-1
        and 2011-02-15-0), and on Timeline hours, where the line is hashed, cityHash64
        is 2 µs a line cheaper than the blake2b it replaced. ``event_id`` is the id as
        JSON holds it: a string of digits stays that string (int() would about double
        the cost); an event without an id (or with id 0, or one that is no id) is
        keyed by :func:`identity_key`, cityHash64 of ``line``, as in the identity.

        It is finer than :class:`EventIdentity`: equal written identities mean equal
        identities, as the same id (or line) and the same text make the same moment.
        The reverse needs one spelling of ids and times, which holds within a GH
        Archive hour (one era, one spelling); the same event spelled two ways is
        caught where identities are compared (the lake, the warehouse). A
        ``created_at`` that is no timestamp is kept as written too: the only lines
        this merges that the identity keeps apart are different lines with the same
        id and the same unreadable time, which are no events (the normalizer
        dead-letters them either way).
        """
        # strip("0"): an id of "0" or "00" is no id, as in identity_key.
        if type(event_id) is str and event_id.isdecimal() and event_id.strip("0"):
            return (event_id, created_at)
        return (identity_key(_int_or_none(event_id), line), created_at)

    def __str__(self) -> str:
        """``key@2015-01-01T15:00:00Z``: how lake verify shows the events it samples."""
        moment = datetime.fromtimestamp(self.created_at, UTC)
        return f"{self.key}@{moment:%Y-%m-%dT%H:%M:%SZ}"
