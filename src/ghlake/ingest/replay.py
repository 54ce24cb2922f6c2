"""Replaying GH Archive hours into the events topic, hour by hour, through the ledger.

For each hour: skip it when the ledger says it was published (unless forced);
record the topics' end offsets; publish every line (valid events to the topic,
the rest to the dead-letter topic); record the outcome. A missing hour is
recorded and the range goes on; a damaged file publishes every line before the
damage and ends ``partial`` (``corrupt`` when nothing could be read). An hour
left ``publishing`` by a killed producer is resumed: what it delivered is read
back from the topics and not sent again.

A range pays its fixed costs once: one producer, one ledger read for the range,
the next hour's file fetched and inflated ahead, and no pause at an hour's end
while its last batches are acknowledged (the next hour is already going out).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from ghlake.errors import SourceError
from ghlake.events.identity import MalformedEventError, parse_created_at
from ghlake.events.provenance import Provenance
from ghlake.hours import Hour
from ghlake.kafka.producer import EventPublisher, Publication, PublishCancelledError
from ghlake.kafka.readback import delivered_message_ids, offsets_since
from ghlake.ledger import HourRecord, HourStatus, Ledger
from ghlake.settings import KafkaSettings
from ghlake.sources.archive import FetchedHour, HourFetcher, gunzip_lines
from ghlake.sources.lines import LineOutcome, classify_lines

__all__ = ["HourReport", "LineProgress", "Pacer", "Replayer"]

log = logging.getLogger(__name__)

HourStarted = Callable[[Hour], None]
LineProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class HourReport:
    """The outcome of one hour."""

    hour: Hour
    status: HourStatus
    lines: int = 0
    published: int = 0
    dead_lettered: int = 0
    recovered: int = 0
    duplicates: int = 0
    resent_skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0
    sha256: str = ""
    error: str | None = None

    @classmethod
    def from_record(cls, record: HourRecord, status: HourStatus) -> HourReport:
        """A report of what the ledger holds (for hours not published again)."""
        return cls(
            record.hour, status, record.lines, record.published, record.dead_lettered,
            record.recovered, record.duplicates, 0, record.bytes, 0.0, record.sha256, record.error,
        )  # fmt: skip


class Pacer:
    """Sleeps so that events go out at ``speed`` times the pace of their ``created_at``."""

    def __init__(
        self,
        speed: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self._origin: tuple[float, float] | None = None  # (event time, wall time)

    def __call__(self, outcome: LineOutcome) -> None:
        """Wait until ``outcome`` is due."""
        if outcome.created_at is None:
            return
        try:
            event_time = parse_created_at(outcome.created_at).timestamp()
        except MalformedEventError:
            return  # an odd timestamp is published unpaced; consumers check it
        if self._origin is None:
            self._origin = (event_time, self.clock())
        due = self._origin[1] + (event_time - self._origin[0]) / self.speed
        delay = due - self.clock()
        if delay > 0:
            self.sleep(delay)


class _Guarded:
    """Yields a file's lines and keeps the error that ended them early, if any."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines = lines
        self.error: SourceError | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.lines
        except SourceError as exc:
            self.error = exc


@dataclass(frozen=True)
class _InFlight:
    """An hour whose lines were all sent, waiting for the broker's answers."""

    fetched: FetchedHour
    resumed: HourRecord | None  # the earlier attempt's row, when this one resumed it
    error: SourceError | None  # what ended the file's lines early, if anything
    publication: Publication


class Replayer:
    """Publishes hours from a fetcher through a publisher, keeping the ledger.

    It owns the fetcher (its spool of downloads): close it, or use it in a ``with``.
    """

    def __init__(
        self,
        publisher: EventPublisher,
        ledger: Ledger,
        fetcher: HourFetcher,
        kafka: KafkaSettings,
        concurrency: int = 2,
    ) -> None:
        self.publisher = publisher
        self.ledger = ledger
        self.fetcher = fetcher
        self.kafka = kafka
        self.concurrency = concurrency

    def close(self) -> None:
        """Release the fetcher's connections and spooled files."""
        self.fetcher.close()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(
        self,
        hours: Iterable[Hour],
        *,
        force: bool = False,
        speed: float | None = None,
        on_hour: HourStarted | None = None,
        progress: LineProgress | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_report: Callable[[HourReport], None] | None = None,
    ) -> list[HourReport]:
        """Replay ``hours``; one report per hour. Stops early when ``should_stop`` says so.

        One producer serves the whole range, and an hour's lines go out while the
        previous hour's last batches are still being acknowledged: an hour is recorded
        ``published`` once the broker has acknowledged every one of its messages, and
        ``on_report`` hears each hour's report then, in the order of the hours.
        """
        wanted = list(hours)
        known = {r.hour: r for r in self.ledger.hours(min(wanted), max(wanted))} if wanted else {}
        todo: list[Hour] = []
        reports: dict[Hour, HourReport] = {}

        def report(hour_report: HourReport) -> None:
            reports[hour_report.hour] = hour_report
            if on_report is not None:
                on_report(hour_report)

        for hour in wanted:
            record = known.get(hour)
            if record is not None and record.status is HourStatus.PUBLISHED and not force:
                report(HourReport.from_record(record, HourStatus.SKIPPED))
            else:
                todo.append(hour)
        pacer = Pacer(speed) if speed else None
        in_flight: deque[_InFlight] = deque()

        def settle(wait: bool) -> None:
            """Record the hours the broker has answered for (all of them when ``wait``)."""
            while in_flight and (wait or in_flight[0].publication.answered):
                report(self._settle(in_flight.popleft()))

        def on_lines(lines: int, size: int) -> None:
            settle(wait=False)  # the previous hour is recorded as soon as it is answered
            if progress is not None:
                progress(lines, size)

        for fetched in self.fetcher.prefetch(todo, self.concurrency):
            if should_stop is not None and should_stop():
                break
            if on_hour is not None:
                on_hour(fetched.hour)
            try:
                sent = self._send(
                    fetched, known.get(fetched.hour), force=force, pacer=pacer,
                    progress=on_lines, should_stop=should_stop,
                )  # fmt: skip
            finally:
                fetched.discard()
            if isinstance(sent, _InFlight):
                in_flight.append(sent)
                settle(wait=False)
                continue
            settle(wait=True)  # a missing or interrupted hour is reported in its place
            report(sent)
            if sent.status is HourStatus.INTERRUPTED:
                break
        settle(wait=True)
        return [reports[hour] for hour in sorted(reports)]

    def _send(
        self,
        fetched: FetchedHour,
        previous: HourRecord | None,
        *,
        force: bool,
        pacer: Pacer | None,
        progress: LineProgress | None,
        should_stop: Callable[[], bool] | None,
    ) -> _InFlight | HourReport:
        """Send one hour's lines; its final report when it ended without messages in flight."""
        hour = fetched.hour
        if fetched.path is None:
            status = HourStatus.FAILED if fetched.failed else HourStatus.MISSING
            self.ledger.finish_hour(hour, status, source=fetched.origin, error=fetched.error)
            log.warning("hour not fetched", extra={"hour": hour.name, "status": status,
                                                   "error": fetched.error})  # fmt: skip
            return HourReport(hour, status, error=fetched.error)

        skip: set[str] = set()
        resumable = previous is not None and previous.status.resumable and not force
        if resumable and previous is not None and previous.started_at is not None:
            # Clocks of this host: a minute of margin costs only a little more reading.
            since = previous.started_at - timedelta(minutes=1)
            topics = [self.kafka.topic, self.kafka.dead_letter_topic]
            starts = offsets_since(self.kafka.bootstrap, topics, since)
            skip = delivered_message_ids(self.kafka.bootstrap, starts, hour.name)
            log.info("resuming hour", extra={"hour": hour.name, "already_delivered": len(skip)})
        self.ledger.begin_hour(hour, fetched.origin)

        provenance = Provenance(
            "gharchive", hour.name, hour.start.isoformat().replace("+00:00", "Z")
        )
        guarded = _Guarded(gunzip_lines(fetched.chunks(), read_ahead=True))
        try:
            publication = self.publisher.send(
                classify_lines(guarded), provenance, skip=skip, progress=progress,
                before_send=pacer, should_stop=should_stop,
            )  # fmt: skip
        except PublishCancelledError as exc:
            self.ledger.finish_hour(hour, HourStatus.INTERRUPTED, error=str(exc))
            return HourReport(hour, HourStatus.INTERRUPTED, error=str(exc))
        return _InFlight(fetched, previous if skip else None, guarded.error, publication)

    def _settle(self, sent: _InFlight) -> HourReport:
        """Wait for the broker's answers to one hour's messages, then record the hour."""
        result = self.publisher.settle(sent.publication)
        fetched, hour = sent.fetched, sent.fetched.hour
        if sent.error is None:
            status, error = HourStatus.PUBLISHED, None
        else:
            status = HourStatus.PARTIAL if result.lines else HourStatus.CORRUPT
            error = str(sent.error)
        offsets = dict(result.offsets)
        if sent.resumed is not None:
            for partition, (first, last) in (sent.resumed.offsets or {}).items():
                mine = offsets.get(int(partition), (first, last))
                offsets[int(partition)] = (min(first, mine[0]), max(last, mine[1]))
        self.ledger.finish_hour(
            hour, status, lines=result.lines, valid=result.valid, recovered=result.recovered,
            dead_lettered=result.dead_lettered, duplicates=result.duplicates, bytes=fetched.size,
            raw_bytes=result.bytes, sha256=fetched.sha256, offsets=offsets,
            seconds=result.seconds, error=error,
        )  # fmt: skip
        log.info(
            "hour replayed",
            extra={"hour": hour.name, "status": status, "lines": result.lines,
                   "published": result.published, "dead_lettered": result.dead_lettered,
                   "resent_skipped": result.skipped, "offsets": offsets},
        )  # fmt: skip
        return HourReport(
            hour, status, result.lines, result.published, result.dead_lettered,
            result.recovered, result.duplicates, result.skipped, fetched.size, result.seconds,
            fetched.sha256, error,
        )  # fmt: skip
