"""GH Archive hours: parsing, naming and ranges.

GH Archive names each file after the UTC hour it covers, with the hour *not*
zero padded: ``2015-01-01-1.json.gz``, ``2024-01-15-0.json.gz``. ghlake uses
the same spelling everywhere an hour is shown or accepted (CLI, API, headers,
ledger), and :class:`Hour` is the one type that carries it in code.

An :class:`Hour` equals its GH Archive name, the way a ``StrEnum`` member equals its
value: the ledger, Kafka headers and JSON carry the name, and a dictionary keyed by
hours answers to either spelling. Hours order by time, never by their names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ghlake.errors import InvalidInputError

__all__ = ["Hour", "hour_range"]

_HOUR_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(\d{1,2})$")
_ONE_HOUR = timedelta(hours=1)


@dataclass(frozen=True, order=True, slots=True)
class Hour:
    """One GH Archive hour, always aligned to the hour and in UTC."""

    start: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise InvalidInputError(f"hour {self.start!r} must be a UTC datetime")
        if self.start.minute or self.start.second or self.start.microsecond:
            raise InvalidInputError(f"hour {self.start.isoformat()} is not aligned to the hour")

    @classmethod
    def parse(cls, text: str | Hour) -> Hour:
        """Parse ``YYYY-MM-DD-H`` (GH Archive's spelling; ``-01`` is accepted too).

        An :class:`Hour` is returned as it is, as ``str()`` returns a string.
        """
        if isinstance(text, Hour):
            return text
        match = _HOUR_RE.match(text.strip())
        if not match:
            raise InvalidInputError(
                f"{text!r} is not an hour; write it as GH Archive does, e.g. 2015-01-01-15"
            )
        year, month, day, hour = (int(part) for part in match.groups())
        try:
            return cls(datetime(year, month, day, hour, tzinfo=UTC))
        except ValueError as exc:
            raise InvalidInputError(f"{text!r} is not a valid hour: {exc}") from exc

    @classmethod
    def containing(cls, moment: datetime) -> Hour:
        """The hour that contains ``moment`` (converted to UTC)."""
        utc = moment.astimezone(UTC)
        return cls(utc.replace(minute=0, second=0, microsecond=0))

    @property
    def name(self) -> str:
        """GH Archive's name for the hour, e.g. ``2015-01-01-1``."""
        return f"{self.start:%Y-%m-%d}-{self.start.hour}"

    @property
    def filename(self) -> str:
        """GH Archive's file name, e.g. ``2015-01-01-1.json.gz``."""
        return f"{self.name}.json.gz"

    @property
    def end(self) -> datetime:
        """The first instant after the hour."""
        return self.start + _ONE_HOUR

    def next(self) -> Hour:
        """The following hour."""
        return Hour(self.end)

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Hour):
            return self.start == other.start
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)


def hour_range(first: Hour, last: Hour) -> Iterator[Hour]:
    """Every hour from ``first`` to ``last``, both included."""
    if last < first:
        raise InvalidInputError(f"range {first}..{last} is reversed: {last} comes before {first}")
    hour = first
    while hour <= last:
        yield hour
        hour = hour.next()
