"""Verifying one GH Archive hour: the lake against the source file, event by event.

Events are compared by their :class:`EventIdentity`, ``(event_key,
created_at)``: the id (GitHub ids alone repeat over time) or, for an event
without one (the 2012-2014 Timeline era), cityHash64 of its line, beside the
time in whole seconds. The source file is read as the producer reads it
(:func:`ghlake.sources.lines.classify_lines`: NUL padding stripped, merged
lines salvaged, repeated events dead-lettered) and normalized as the lake
writer does, so what either dead-letters is expected *not* to be in the lake.
The lake side is every row whose ``source_hour`` is the hour, in the event
hours the source's events fall in, in one snapshot of the Delta table (the
latest, or ``version``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from ghlake.events.identity import EventIdentity
from ghlake.events.normalize import CREATED_AT_INDEX, MalformedEventError, normalize_line
from ghlake.events.schema import EVENT_COLUMNS
from ghlake.hours import Hour
from ghlake.lake.reader import read_event_hour
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import LakeTable
from ghlake.sources.archive import ArchiveSource, gunzip_lines
from ghlake.sources.lines import classify_lines

__all__ = ["HourVerification", "verify_hour"]

_KEY = EVENT_COLUMNS.index("event_key")
_SECONDS = pa.timestamp("s", tz="UTC")


@dataclass(frozen=True)
class HourVerification:
    """One hour of the lake compared with its source file."""

    hour: str
    source_lines: int
    source_events: int  # lines the lake should hold (the rest are dead letters)
    lake_rows: int
    missing: int  # source events with fewer copies in the lake than in the source
    duplicates: int  # extra copies in the lake
    unexpected: int  # rows of this hour whose identity is not in the source at all
    missing_sample: tuple[EventIdentity, ...]
    duplicate_sample: tuple[EventIdentity, ...]
    partitions: tuple[str, ...]  # event-hour partitions read, e.g. 2015-01-01/01

    @property
    def ok(self) -> bool:
        """Whether the lake holds every source event exactly once and nothing else."""
        return self.missing == self.duplicates == self.unexpected == 0


def _source_identities(source: ArchiveSource, hour: Hour) -> tuple[int, Counter[EventIdentity]]:
    lines = 0
    found: Counter[EventIdentity] = Counter()
    for outcome in classify_lines(gunzip_lines(source.chunks(hour))):
        lines = max(lines, outcome.line)
        if outcome.kind == "dead":
            continue  # dead-lettered by the producer
        try:
            row = normalize_line(outcome.value, source="", source_hour=hour.name, file_time=0)
        except MalformedEventError:
            continue  # dead-lettered by the lake writer
        found[EventIdentity(row[_KEY], row[CREATED_AT_INDEX])] += 1
    return lines, found


def verify_hour(
    table: LakeTable,
    store: ObjectStore,
    source: ArchiveSource,
    hour: Hour,
    *,
    sample: int = 10,
    version: int | None = None,
) -> HourVerification:
    """Compare the table's events of ``hour`` with the hour's file in ``source``."""
    lines, expected = _source_identities(source, hour)
    event_hours = sorted({identity.created_at // 3600 * 3600 for identity in expected})
    stored: Counter[EventIdentity] = Counter()
    for start in event_hours:
        moment = datetime.fromtimestamp(start, UTC)
        for _, rows in read_event_hour(
            table, store, moment, ["event_key", "created_at", "source_hour"], version
        ):
            # decimal(20,0) in the table: the exact UInt64 (schema.py says why).
            keys = rows.column("event_key").cast(pa.uint64()).to_pylist()
            # Whole seconds, as EventIdentity holds them (the column has microseconds).
            created = rows.column("created_at").cast(_SECONDS, safe=False).cast(pa.int64())
            hours = rows.column("source_hour").to_pylist()
            for key, seconds, source_hour in zip(keys, created.to_pylist(), hours, strict=True):
                if source_hour == hour.name:
                    stored[EventIdentity(key, seconds)] += 1

    missing = {k: n - stored[k] for k, n in expected.items() if stored[k] < n}
    extra = {k: n - expected[k] for k, n in stored.items() if n > expected[k]}
    unexpected = sum(n for k, n in stored.items() if k not in expected)
    return HourVerification(
        hour=hour.name,
        source_lines=lines,
        source_events=sum(expected.values()),
        lake_rows=sum(stored.values()),
        missing=sum(missing.values()),
        duplicates=sum(n for k, n in extra.items() if k in expected),
        unexpected=unexpected,
        missing_sample=tuple(sorted(missing)[:sample]),
        duplicate_sample=tuple(sorted(extra)[:sample]),
        partitions=tuple(f"{datetime.fromtimestamp(s, UTC):%Y-%m-%d/%H}" for s in event_hours),
    )
