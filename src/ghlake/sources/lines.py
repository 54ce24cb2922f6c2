"""Sorting the lines of a GH Archive hour into events and dead letters.

GH Archive files have real defects (../shared/reference/gharchive-facts.md):
NUL-byte padding, broken JSON, an unterminated string that merged two events
into one line, the same event twice. Every line read ends up in exactly one
place: the events topic (valid) or the dead-letter topic (with the reason), so
that per hour ``valid + dead_lettered == lines``. An event recovered from the
tail of a merged line is published in addition and counted as ``recovered``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ghlake.events.identity import EventBasics, MalformedEventError, event_basics, parse_event

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
    created_at: datetime | None = None  # of a valid or recovered event, for pacing

    @property
    def message_id(self) -> str:
        """Identifies this outcome among the hour's messages, for resuming a replay."""
        return f"{self.line}.{self.part}"


def _key(basics: EventBasics) -> bytes | None:
    if basics.repo_id is not None:
        return str(basics.repo_id).encode()
    return basics.repo_name.encode() or None


def _identity(basics: EventBasics, line: bytes) -> tuple[object, ...]:
    # Timeline-era events have no id: an identical line is the same event.
    if basics.event_id is None:
        return ("line", hashlib.blake2b(line, digest_size=16).digest())
    return (basics.event_id, basics.created_at)


def _salvage(line: bytes) -> tuple[int, EventBasics] | None:
    """Find a complete event at the end of a line whose start is broken."""
    position = line.find(_OBJECT_START, 1)
    while position != -1:
        try:
            return position, event_basics(parse_event(line[position:]))
        except MalformedEventError:
            position = line.find(_OBJECT_START, position + 1)
    return None


def classify_lines(lines: Iterable[bytes]) -> Iterator[LineOutcome]:
    """One outcome per line (two when a merged line's tail is recovered), numbered from 1."""
    first_seen: dict[tuple[object, ...], int] = {}

    def admit(number: int, value: bytes, basics: EventBasics, part: int) -> LineOutcome:
        identity = _identity(basics, value)
        seen = first_seen.get(identity)
        if seen is not None:
            reason = f"duplicate of line {seen}"
            return LineOutcome(number, "dead", value, reason=reason, part=part)
        first_seen[identity] = number
        kind: Kind = "recovered" if part else "valid"
        return LineOutcome(
            number, kind, value, _key(basics), part=part, created_at=basics.created_at
        )

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r")
        stripped = line.strip(b"\x00")
        if not stripped.strip():
            reason = "NUL padding" if b"\x00" in line else "empty line"
            yield LineOutcome(number, "dead", line, reason=reason)
            continue
        try:
            basics = event_basics(parse_event(stripped))
        except MalformedEventError as exc:
            salvaged = _salvage(stripped)
            if salvaged is None:
                yield LineOutcome(number, "dead", line, reason=exc.reason)
                continue
            position, tail = salvaged
            reason = f"broken event merged with the next ({exc.reason}); the next was recovered"
            yield LineOutcome(number, "dead", stripped[:position], reason=reason)
            yield admit(number, stripped[position:], tail, 1)
            continue
        yield admit(number, stripped, basics, 0)
