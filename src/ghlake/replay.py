"""Replaying GH Archive hours into the events topic, one hour at a time.

A missing hour is recorded and the range goes on; a damaged file publishes
every line before the damage and is reported ``partial`` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ghlake.errors import SourceError
from ghlake.hours import Hour
from ghlake.kafka.producer import EventPublisher, Provenance
from ghlake.sources.archive import ArchiveSource, HourMissingError, gunzip_lines

__all__ = ["HourReport", "replay_hours"]

log = logging.getLogger(__name__)

HourStarted = Callable[[Hour], None]
LineProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class HourReport:
    """The outcome of one hour."""

    hour: str
    status: str  # published, partial or missing
    lines: int = 0
    published: int = 0
    dead_lettered: int = 0
    bytes: int = 0
    seconds: float = 0.0
    error: str | None = None


class _Guarded:
    """Yields a source's lines and keeps the error that ended them early, if any."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines = lines
        self.error: SourceError | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.lines
        except HourMissingError:
            raise
        except SourceError as exc:
            self.error = exc


def replay_hours(
    source: ArchiveSource,
    publisher: EventPublisher,
    hours: Iterable[Hour],
    on_hour: HourStarted | None = None,
    progress: LineProgress | None = None,
) -> list[HourReport]:
    """Publish every hour of ``hours`` from ``source``; one report per hour."""
    reports = []
    for hour in hours:
        if on_hour is not None:
            on_hour(hour)
        provenance = Provenance(
            "gharchive", hour.name, hour.start.isoformat().replace("+00:00", "Z")
        )
        guarded = _Guarded(gunzip_lines(source.chunks(hour)))
        try:
            result = publisher.publish_lines(guarded, provenance, progress)
        except HourMissingError as exc:
            log.warning("hour missing", extra={"hour": hour.name, "error": str(exc)})
            reports.append(HourReport(hour.name, "missing", error=str(exc)))
            continue
        status = "published" if guarded.error is None else "partial"
        error = None if guarded.error is None else str(guarded.error)
        log.info(
            "hour replayed",
            extra={"hour": hour.name, "status": status, "lines": result.lines,
                   "published": result.published, "dead_lettered": result.dead_lettered},
        )  # fmt: skip
        reports.append(
            HourReport(hour.name, status, result.lines, result.published, result.dead_lettered,
                       result.bytes, result.seconds, error)
        )  # fmt: skip
    return reports
