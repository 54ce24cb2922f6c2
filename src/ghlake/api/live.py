"""The live page's feed: one loop for every client, fanned out as Server-Sent Events.

Every ``interval`` seconds (every ``idle_interval`` while no page is open) one snapshot
is collected (in a worker thread): events per second by type (the difference of two
per-type row counts of the warehouse), the running total, the latest events, each
consumer group's lag and status (the API's lag monitor, not a second sampling), ingest
errors and dead letters, and, every tenth tick, per-hour stage counts. Snapshots are
kept for 15 minutes; a client gets the history once on connect, then each new snapshot.
Event ids are milliseconds since the epoch, so they keep increasing across API restarts,
and a client that comes back (``Last-Event-ID``, or ``?last_event_id=`` after the page
was hidden) gets what it missed, not the whole history again. A hundred clients cost one query loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.concurrency import run_in_threadpool

from ghlake.errors import GhLakeError
from ghlake.lag.broker import BrokerOffsets
from ghlake.lag.monitor import LagMonitor
from ghlake.ledger import HourStatus
from ghlake.platform import Platform
from ghlake.synth.eras import TRIM_START
from ghlake.warehouse.queries import (
    INGEST_PROGRESS,
    LATEST_EVENTS,
    LIVE_TYPE_TOTALS,
    TABLE_ROWS,
)

__all__ = ["LiveFeed", "Snapshots"]

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]
HOURS_EVERY = 10  # ticks between two per-hour stage counts (they read the lake)


class Snapshots:
    """Collects one snapshot from the platform; remembers the previous totals for rates."""

    def __init__(self, platform: Platform, monitor: LagMonitor, broker: BrokerOffsets) -> None:
        self.platform = platform
        self.monitor = monitor
        self.broker = broker
        self._totals: tuple[float, dict[str, int]] | None = None
        self._hours: list[dict[str, Any]] = []
        self._ticks = 0

    def collect(self) -> Snapshot:
        """The page's whole state now (a part that fails is reported, the rest still shown)."""
        now = time.time()
        snapshot: Snapshot = {"at": now, "errors": {}}
        self._warehouse(snapshot, now)
        report = self.monitor.report
        snapshot["groups"] = [
            {"group": g.group, "topic": g.topic, "status": g.status.value, "lag": g.lag,
             "lag_seconds": g.lag_seconds, "active": g.active}
            for g in report.groups
        ]  # fmt: skip
        if report.error:
            snapshot["errors"]["lag"] = report.error
        try:
            dlq = self.platform.settings.kafka.dead_letter_topic
            snapshot["dead_letters"] = self.broker.messages(dlq)
        except GhLakeError as exc:
            snapshot["errors"]["kafka"] = str(exc)
        if self._ticks % HOURS_EVERY == 0:
            self._hours = self._hour_counts(snapshot)
        self._ticks += 1
        snapshot["hours"] = self._hours
        return snapshot

    def _warehouse(self, snapshot: Snapshot, now: float) -> None:
        warehouse = self.platform.warehouse
        try:
            totals = {r["event_type"]: int(r["events"]) for r in warehouse.query(LIVE_TYPE_TOTALS)}
            latest = warehouse.query(LATEST_EVENTS, limit=8)
            rows = warehouse.query(TABLE_ROWS)
            progress = warehouse.query(INGEST_PROGRESS)
        except GhLakeError as exc:
            snapshot["errors"]["warehouse"] = str(exc)
            return
        rates: dict[str, float] = {}
        if self._totals is not None:
            then, before = self._totals
            elapsed = max(now - then, 1e-3)
            rates = {t: max(n - before.get(t, 0), 0) / elapsed for t, n in totals.items()}
        self._totals = (now, totals)
        # Messages the warehouse has read from the topic (each partition's highest offset
        # written, plus one): a running total that only grows, where a count of rows would
        # shrink as ReplacingMergeTree folds duplicates in the background.
        snapshot["total"] = sum(p.max_offset + 1 for p in progress)
        snapshot["rates"] = {t: round(r, 2) for t, r in rates.items() if r > 0}
        snapshot["latest"] = latest
        snapshot["ingest_errors"] = int(rows[0]["ingest_errors"]) if rows else 0

    def _hour_counts(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        try:
            records = self.platform.ledger.recent_hours(12)
            published = {r.hour: r.published for r in records if r.status == HourStatus.PUBLISHED}
            # Rows as stored (duplicates fold in the background), not the exact,
            # deduplicating count of `ghlake reconcile`: that one reads the whole table's
            # sorting key, too much to repeat every few seconds on a large table.
            counts = {c.hour: c for c in self.platform.reconciler.progress(published)}
        except GhLakeError as exc:
            snapshot["errors"]["hours"] = str(exc)
            return self._hours
        out = []
        for record in records:
            found = counts.get(record.hour)
            flags = []
            if record.status == HourStatus.MISSING:
                flags.append("outage: no GH Archive mirror has this hour")
            if record.hour_start.replace(tzinfo=UTC) >= datetime.fromtimestamp(TRIM_START, UTC):
                flags.append("after the 2025-10-07 payload cut")
            out.append(
                {"hour": record.hour.name, "status": record.status.value,
                 "kafka": record.published, "lake": found.lake if found else None,
                 "warehouse": found.warehouse if found else None, "flags": flags}
            )  # fmt: skip
        return out


def _event(event_id: int, data: bytes, kind: str | None = None) -> bytes:
    head = f"id: {event_id}\n" + (f"event: {kind}\n" if kind else "")
    return head.encode() + b"data: " + data + b"\n\n"


class LiveFeed:
    """The one loop (:meth:`run`) and the streams of its clients (:meth:`stream`)."""

    def __init__(
        self,
        collect: Callable[[], Snapshot],
        interval: float = 1.0,
        keep_seconds: float = 900,
        idle_interval: float = 5.0,
    ) -> None:
        self.collect = collect
        self.interval = interval
        # With no page open the loop slows down: the history goes on (coarser), and an
        # idle API does not query the warehouse four times a second (bench/day.py measured
        # those queries at a fifth of the warehouse's CPU while it ingests).
        self.idle_interval = max(idle_interval, interval)
        self._client_came = asyncio.Event()
        # (id, the whole snapshot, its chart point only: at, total, rates) per tick.
        self._ring: deque[tuple[int, bytes, bytes]] = deque(maxlen=int(keep_seconds / interval) + 1)
        self._tick = asyncio.Event()
        self.clients = 0
        self.ticks = 0

    async def run(self) -> None:
        """Collect a snapshot every ``interval`` seconds until cancelled, waking the streams.

        Every ``idle_interval`` seconds while no client is connected; a client that
        connects gets the next snapshot at once.
        """
        while True:
            started = time.monotonic()
            try:
                snapshot = await run_in_threadpool(self.collect)
            except Exception:  # a bug must not end the page for everyone; it is logged
                log.exception("live snapshot failed")
            else:
                event_id = max(
                    int(snapshot["at"] * 1000), self._ring[-1][0] + 1 if self._ring else 0
                )
                point = {k: snapshot.get(k) for k in ("at", "total", "rates")}
                self._ring.append(
                    (event_id, orjson.dumps({"id": event_id, **snapshot}), orjson.dumps(point))
                )
                self.ticks += 1
                self._tick.set()
                self._tick = asyncio.Event()
            period = self.interval if self.clients else self.idle_interval
            self._client_came.clear()
            with contextlib.suppress(TimeoutError):  # the period is over
                await asyncio.wait_for(
                    self._client_came.wait(),
                    timeout=max(period - (time.monotonic() - started), 0.05),
                )

    def after(self, last_id: int | None) -> list[tuple[int, bytes, bytes]]:
        """Snapshots after ``last_id`` (all kept ones when None)."""
        return [entry for entry in self._ring if last_id is None or entry[0] > last_id]

    async def stream(
        self, last_id: int | None, disconnected: Callable[[], Any]
    ) -> AsyncIterator[bytes]:
        """One client's event stream: its backlog (as one ``history`` event), then each tick."""
        self.clients += 1
        self._client_came.set()
        try:
            yield b"retry: 2000\n\n"
            backlog = self.after(last_id)
            if backlog:  # the chart's points, then the latest snapshot whole
                points = [point for _, _, point in backlog[:-1]]
                body = b"[" + b",".join([*points, backlog[-1][1]]) + b"]"
                yield _event(backlog[-1][0], body, "history")
                last_id = backlog[-1][0]
            while not await disconnected():
                tick = self._tick
                try:
                    await asyncio.wait_for(tick.wait(), timeout=15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                for event_id, data, _ in self.after(last_id):
                    yield _event(event_id, data)
                    last_id = event_id
        finally:
            self.clients -= 1
