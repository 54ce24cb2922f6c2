"""The few fields every consumer needs from any GH Archive event, in every era.

GH Archive holds two record shapes (see ../shared/reference/gharchive-facts.md):
the Events API shape since 2015 (and, with api.github.dev URLs, 2011-2012) and
the Timeline shape of 2012-2014, where ``actor`` is a login string, the
repository is ``repository{owner, name, id}``, ids are missing and
``created_at`` carries a US-Pacific offset. :func:`event_basics` reads both.
The full typed normalizer builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ghlake.errors import MalformedEventError

__all__ = [
    "EventBasics",
    "IdentityFields",
    "MalformedEventError",
    "event_basics",
    "identity_fields",
    "parse_created_at",
    "parse_event",
    "parse_timestamp",
]


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


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
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
        owner, name = repository.get("owner") or "", repository.get("name") or ""
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
