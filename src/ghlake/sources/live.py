"""The live source: GitHub's public Events API, polled on all three pages.

Since 2025-05-23 GitHub's feed puts almost only PushEvents on its first page
and the usual mix on pages 2 and 3, and GH Archive reads page 1 only
(../shared/reference/gharchive-facts.md, "Coverage break"). The poller reads
every page (``pages`` x ``per_page``, 3 x 100 by default) each poll, sends each
page's ETag back so unchanged pages cost nothing, never polls faster than
``X-Poll-Interval`` (or ``min_interval_s``), and drops events an earlier poll
already saw, by ``(id, created_at)`` in bounded memory (:mod:`.live_dedup`).

Each poll returns its new events, the API's JSON objects re-serialized
compactly with their key order, and the provenance they travel with:
``source=live``, ``hour`` (the GH Archive hour the poll started in) and
``file_time`` (the poll's start). Publishing them is :mod:`ghlake.ingest.live`'s
job; events whose publishing failed are forgotten again (:meth:`LivePoller.forget`),
ETags included, so the next poll offers them once more.

The HTTP side lives in :mod:`.live_client`; this module re-exports its names.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ghlake.errors import ConfigError
from ghlake.events.identity import EventIdentity
from ghlake.events.provenance import Provenance
from ghlake.hours import Hour
from ghlake.sources.live_client import (
    Clock,
    EventsApiClient,
    LiveConfig,
    LiveFeedError,
    PageResult,
    PollStoppedError,
    Sleep,
    TransientLiveFeedError,
)
from ghlake.sources.live_dedup import SeenEvents

__all__ = [
    "Clock",
    "EventsApiClient",
    "LiveConfig",
    "LiveFeedError",
    "LivePoller",
    "PageResult",
    "PollResult",
    "PollStoppedError",
    "SeenEvents",
    "Sleep",
    "TransientLiveFeedError",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    """One poll of every page: what came back and which events are new."""

    window_start: datetime  # UTC, when the poll began
    window_end: datetime  # UTC, when its last page was answered
    pages_fetched: int  # pages answered (200 or 304)
    pages_not_modified: int  # of those, 304: unchanged since the last poll
    received: int  # events in the pages that changed
    new: int
    duplicates: int  # seen by an earlier poll, or earlier in this one
    lines: tuple[bytes, ...]  # the new events, oldest first, compact JSON in the API's key order
    poll_interval_s: float | None  # what X-Poll-Interval asked for (None: not sent)
    rate_limit_remaining: int | None  # over every token, as last reported
    waited_s: float  # spent on rate limits and retries inside the poll
    gap: bool  # every event read was new: the feed moved past its window, some were missed

    @property
    def hour(self) -> str:
        """The GH Archive hour the poll started in, e.g. ``2026-11-03-14``."""
        return Hour.containing(self.window_start).name

    def provenance(self) -> Provenance:
        """The headers the poll's events travel with."""
        return Provenance("live", self.hour, self.window_start.isoformat())


class LivePoller:
    """Polls the Events API through ``client`` and keeps what is new."""

    def __init__(self, client: EventsApiClient, seen: SeenEvents | None = None) -> None:
        config = client.config
        self.client = client
        self.config = config
        self.seen = seen if seen is not None else SeenEvents(config.dedup_capacity)
        # An event read in this poll was last refreshed in the previous one; between the
        # two, at most two polls of other keys were touched (see live_dedup).
        least = 2 * config.pages * config.per_page
        if self.seen.capacity < least:
            raise ConfigError(
                f"the live dedup capacity ({self.seen.capacity}) must hold two polls"
                f" (2 x {config.pages} x {config.per_page} = {least} events)"
            )
        self._next_poll_at: float | None = None
        self._polls = 0
        self._check_gap = False  # no overlap to expect on the first poll, or after forget()

    @property
    def next_poll_at(self) -> datetime | None:
        """The earliest time the next poll may start (None before the first poll)."""
        if self._next_poll_at is None:
            return None
        return datetime.fromtimestamp(self._next_poll_at, UTC)

    def poll_once(self, stop: threading.Event | None = None) -> PollResult:
        """Wait out the poll interval, read every page, and return the events not seen before.

        Raises :class:`TransientLiveFeedError` when the API could not be read now,
        :class:`LiveFeedError` when it refuses the request, and
        :class:`PollStoppedError` when ``stop`` is set during a wait.
        """
        client, config = self.client, self.config
        if self._next_poll_at is not None:
            client.wait(self._next_poll_at - client.now(), stop)
        started = client.now()
        pages: list[PageResult] = []
        try:
            for page in range(1, config.pages + 1):
                answer = client.fetch_page(page, stop)
                pages.append(answer)
                if not answer.not_modified and len(answer.items) < config.per_page:
                    break  # a short page is the end of the feed
        except BaseException:
            # The pages read are dropped with the poll: their ETags must not make the
            # next poll skip them (a 304 would hide their events for good).
            client.forget_etags(answer.page for answer in pages)
            raise
        finally:
            # Never faster than the server asks, counted from the poll's first request.
            interval = max(config.min_interval_s, client.poll_interval_s or 0.0)
            first_request = pages[0].requested_at if pages else started
            self._next_poll_at = first_request + interval
        return self._collect(pages, started, client.now())

    def _collect(self, pages: list[PageResult], started: float, ended: float) -> PollResult:
        fresh: list[tuple[str, bytes]] = []
        received = duplicates = 0
        for answer in pages:
            for item in answer.items:
                received += 1
                line = orjson.dumps(item)
                if self.seen.add(EventIdentity.of_event(item, line)):
                    created = item.get("created_at") if isinstance(item, dict) else None
                    fresh.append((created if isinstance(created, str) else "", line))
                else:
                    duplicates += 1
        fresh.reverse()  # the feed is newest first; publish oldest first
        fresh.sort(key=lambda pair: pair[0])  # stable: pages are not one time order
        gap = self._check_gap and received > 0 and duplicates == 0
        self._check_gap = True
        result = PollResult(
            window_start=datetime.fromtimestamp(started, UTC),
            window_end=datetime.fromtimestamp(ended, UTC),
            pages_fetched=len(pages),
            pages_not_modified=sum(answer.not_modified for answer in pages),
            received=received,
            new=len(fresh),
            duplicates=duplicates,
            lines=tuple(line for _created, line in fresh),
            poll_interval_s=self.client.poll_interval_s,
            rate_limit_remaining=self.client.rate_limit_remaining,
            waited_s=sum(answer.waited_s for answer in pages),
            gap=gap,
        )
        extra = {"hour": result.hour, "pages": result.pages_fetched, "received": received,
                 "new": result.new, "duplicates": duplicates,
                 "not_modified": result.pages_not_modified,
                 "rate_limit_remaining": result.rate_limit_remaining}  # fmt: skip
        if gap:
            log.warning(
                "live feed moved past its window between polls; poll more often", extra=extra
            )
        else:
            log.info("live poll", extra=extra)
        return result

    def forget(self, result: PollResult) -> None:
        """Un-see ``result``'s new events and drop the ETags, so the next poll offers them again."""
        self.seen.discard(EventIdentity.of_event(orjson.loads(line), line) for line in result.lines)
        self.client.forget_etags()
        self._check_gap = False
