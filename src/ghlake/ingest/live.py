"""Live ingest: the Events API poller's new events onto the topic, every poll window in the ledger.

The poller (:mod:`ghlake.sources.live`) reads the feed and keeps what is new;
this module publishes it and records each window in the ledger, so a poll run
from the CLI, the API or Airflow leaves the same record. Transient failures (the
API down or rate limited past the retries, the broker not acknowledging) are
logged and survived: the next poll comes after the usual interval, and events
whose publishing failed are offered again by it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Protocol

from ghlake.errors import GhLakeError, is_transient
from ghlake.events.provenance import Provenance
from ghlake.kafka.producer import PublishResult
from ghlake.ledger import Ledger, PollRecord
from ghlake.sources.live import LivePoller, PollResult, PollStoppedError

__all__ = ["LineSink", "LiveIngest", "LiveRunSummary", "poll_record"]

log = logging.getLogger(__name__)

PollCallback = Callable[[PollResult, PublishResult | None], None]
ErrorCallback = Callable[[GhLakeError], None]


class LineSink(Protocol):
    """Where new events go: :class:`ghlake.kafka.producer.EventPublisher` in production."""

    def publish_lines(self, lines: Iterable[bytes], provenance: Provenance) -> PublishResult:
        """Publish ``lines``; return once the broker acknowledged them."""
        ...


@dataclass(frozen=True)
class LiveRunSummary:
    """What :meth:`LiveIngest.run` did until it stopped."""

    polls: int
    failed_polls: int  # transient failures of the API or of publishing, survived
    pages_fetched: int
    pages_not_modified: int
    received: int
    new: int
    duplicates: int
    published: int
    dead_lettered: int
    gaps: int


def poll_record(result: PollResult, published: PublishResult | None) -> PollRecord:
    """The ledger's row for one poll window."""
    return PollRecord(
        result.window_start, result.window_end, result.pages_fetched, result.pages_not_modified,
        result.received, result.new, result.duplicates,
        published.published if published else 0, result.rate_limit_remaining,
    )  # fmt: skip


class LiveIngest:
    """Polls, publishes, and records each poll window; closes the poller's feed client."""

    def __init__(self, poller: LivePoller, publisher: LineSink, ledger: Ledger) -> None:
        self.poller = poller
        self.publisher = publisher
        self.ledger = ledger

    def run(
        self,
        stop: threading.Event,
        on_poll: PollCallback | None = None,
        *,
        max_polls: int | None = None,
        on_error: ErrorCallback | None = None,
    ) -> LiveRunSummary:
        """Poll and publish new events until ``stop`` is set or ``max_polls`` polls were tried.

        Transient failures are logged, passed to ``on_error`` and survived; terminal
        errors propagate. ``on_poll`` hears each poll once it is published and recorded.
        """
        counts = dict.fromkeys((f.name for f in fields(LiveRunSummary)), 0)
        attempts = 0
        while not stop.is_set() and (max_polls is None or attempts < max_polls):
            attempts += 1
            try:
                result = self.poller.poll_once(stop)
                published = self._publish(result)
            except PollStoppedError:
                break
            except GhLakeError as exc:
                if not is_transient(exc):
                    raise
                counts["failed_polls"] += 1
                log.warning("live poll failed; polling again later", extra={"error": str(exc)})
                if on_error is not None:
                    on_error(exc)
                continue
            self.ledger.record_poll(poll_record(result, published))
            for name in ("pages_fetched", "pages_not_modified", "received", "new", "duplicates"):
                counts[name] += getattr(result, name)
            counts["polls"] += 1
            counts["gaps"] += result.gap
            if published is not None:
                counts["published"] += published.published
                counts["dead_lettered"] += published.dead_lettered
            if on_poll is not None:
                on_poll(result, published)
        return LiveRunSummary(**counts)

    def _publish(self, result: PollResult) -> PublishResult | None:
        if not result.lines:
            return None
        try:
            return self.publisher.publish_lines(result.lines, result.provenance())
        except BaseException:
            self.poller.forget(result)  # whatever failed, these events must be offered again
            raise

    def close(self) -> None:
        """Close the Events API client."""
        self.poller.client.close()

    def __enter__(self) -> LiveIngest:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
