"""Sorting the lines of a GH Archive hour into events and dead letters.

GH Archive files have real defects (../shared/reference/gharchive-facts.md):
NUL-byte padding, broken JSON, an unterminated string that merged two events
into one line, the same event twice. Every line read ends up in exactly one
place: the events topic (valid) or the dead-letter topic (with the reason), so
that per hour ``valid + dead_lettered == lines``. An event recovered from the
tail of a merged line is published in addition and counted as ``recovered``.

This runs once per line on the producer's hot path, so it reads only what
routing needs (type, created_at, id, repository id) and leaves the typed
normalization to the consumers. A repeated event is recognised by its
identity as the line writes it (:meth:`EventIdentity.as_written`: the id, or
for an id-less Timeline event cityHash64 of the line, with ``created_at``
unparsed), which within an hour is the project's event identity without the
cost of parsing every timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ghlake.events.identity import EventIdentity, WrittenIdentity

__all__ = ["LineOutcome", "classify_lines"]

Kind = Literal["valid", "recovered", "dead"]
_OBJECT_START = b'{"'


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """Where one line (or the recovered tail of one) goes."""

    line: int
    kind: Kind
    value: bytes
    key: bytes | None = None
    reason: str = ""
    part: int = 0  # 1 for what was recovered from the tail of a merged line
    created_at: str | None = None  # as written, of a valid or recovered event (for pacing)

    @property
    def message_id(self) -> str:
        """Identifies this outcome among the hour's messages, for resuming a replay."""
        return f"{self.line}.{self.part}"


class _NotAnEventError(ValueError):
    pass


_Routed = tuple[str, WrittenIdentity, bytes | None]


def _route(line: bytes) -> _Routed:
    """(created_at, identity, key) of an event line, or :class:`_NotAnEventError` saying why."""
    try:
        event: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _NotAnEventError(f"not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise _NotAnEventError(f"a JSON {type(event).__name__}, not an object")
    kind, created = event.get("type"), event.get("created_at")
    if not isinstance(kind, str) or not kind:
        raise _NotAnEventError("no event type")
    if not isinstance(created, str) or len(created) < 19:
        raise _NotAnEventError("no created_at timestamp")
    repo = event.get("repo")
    if not isinstance(repo, dict):
        repo = event.get("repository")  # the 2012-2014 Timeline shape
    identity = EventIdentity.as_written(event.get("id"), created, line)
    key: bytes | None = None
    if isinstance(repo, dict):
        repo_id = repo.get("id")
        if repo_id is not None and not isinstance(repo_id, bool):
            key = str(repo_id).encode()
        elif isinstance(repo.get("name"), str):
            key = repo["name"].encode() or None
    if key is None:
        # No repository to key by (gists, follows, some 2011 events): the event's own
        # identity, so that its copies (a forced re-replay, the live poller beside the
        # archive) share a partition, hence one lake writer, which stores it once
        # (lake/dedup.py). A null key would scatter them over random partitions.
        key = f"event:{identity[0]}".encode()
    return created, identity, key


def _salvage(line: bytes) -> tuple[int, _Routed] | None:
    """Find a complete event at the end of a line whose start is broken."""
    position = line.find(_OBJECT_START, 1)
    while position != -1:
        try:
            return position, _route(line[position:])
        except _NotAnEventError:
            position = line.find(_OBJECT_START, position + 1)
    return None


def classify_lines(lines: Iterable[bytes]) -> Iterator[LineOutcome]:
    """One outcome per line (two when a merged line's tail is recovered), numbered from 1."""
    first_seen: dict[WrittenIdentity, int] = {}

    def admit(number: int, value: bytes, routed: _Routed, part: int) -> LineOutcome:
        created, identity, key = routed
        seen = first_seen.get(identity)
        if seen is not None:
            return LineOutcome(number, "dead", value, reason=f"duplicate of line {seen}", part=part)
        first_seen[identity] = number
        kind: Kind = "recovered" if part else "valid"
        return LineOutcome(number, kind, value, key, part=part, created_at=created)

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r")
        stripped = line.strip(b"\x00")
        if not stripped.strip():
            reason = "NUL padding" if b"\x00" in line else "empty line"
            yield LineOutcome(number, "dead", line, reason=reason)
            continue
        try:
            routed = _route(stripped)
        except _NotAnEventError as exc:
            salvaged = _salvage(stripped)
            if salvaged is None:
                yield LineOutcome(number, "dead", line, reason=str(exc))
                continue
            position, tail = salvaged
            reason = f"broken event merged with the next ({exc}); the next was recovered"
            yield LineOutcome(number, "dead", stripped[:position], reason=reason)
            yield admit(number, stripped[position:], tail, 1)
            continue
        yield admit(number, stripped, routed, 0)
