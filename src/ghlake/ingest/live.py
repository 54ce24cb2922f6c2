"""Live ingest: the Events API poller publishing to the topic, every poll window in the ledger.

The poller (:mod:`ghlake.sources.live`) reads the feed and the publisher puts new
events on the topic; this module adds the ledger, so a poll started from the
CLI, the API or Airflow leaves the same record of what each window brought.
"""

from __future__ import annotations

import threading
from types import TracebackType

from ghlake.kafka.producer import PublishResult
from ghlake.ledger import Ledger, PollRecord
from ghlake.sources.live import (
    ErrorCallback,
    LineSink,
    LivePoller,
    LiveRunSummary,
    PollCallback,
    PollResult,
)

__all__ = ["LiveIngest", "poll_record"]


def poll_record(result: PollResult, published: PublishResult | None) -> PollRecord:
    """The ledger's row for one poll window."""
    return PollRecord(
        result.window_start, result.window_end, result.pages_fetched, result.pages_not_modified,
        result.received, result.new, result.duplicates,
        published.published if published else 0, result.rate_limit_remaining,
    )  # fmt: skip


class LiveIngest:
    """Polls, publishes, and records each poll window in the ledger; closes its feed client."""

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
        """Poll until ``stop`` is set or ``max_polls`` polls were tried (see ``LivePoller.run``)."""

        def recorded(result: PollResult, published: PublishResult | None) -> None:
            self.ledger.record_poll(poll_record(result, published))
            if on_poll is not None:
                on_poll(result, published)

        return self.poller.run(
            self.publisher, stop, recorded, max_polls=max_polls, on_error=on_error
        )

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
