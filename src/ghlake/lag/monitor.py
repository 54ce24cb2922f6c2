"""The lag monitor: samples the broker, keeps each partition's window, reports every group.

Lag in seconds is how long ago the oldest unconsumed record was written: now minus the
timestamp of the record *at* the committed offset (the next one the group will read),
read from the topic itself, which is exact. When that record cannot be read (gone by
retention, or the fetch timed out) it is interpolated from the monitor's own samples:
the time the log end passed the group's position, linear between two samples. A lag of
zero messages is zero seconds.

A group with no member is *inactive*: it stays in the report, flagged, for
``inactive_after`` seconds after it was last active or moved, then it is left out (the
broker keeps its offsets for days).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ghlake.errors import GhLakeError
from ghlake.lag.broker import BrokerView, GroupView, TopicPart
from ghlake.lag.evaluator import (
    Sample,
    Status,
    Window,
    catch_up_seconds,
    group_status,
    partition_status,
)

__all__ = ["GroupLag", "LagMonitor", "LagReport", "OffsetSource", "PartitionLag"]

log = logging.getLogger(__name__)

Method = Literal["record", "interpolated"]


class OffsetSource(Protocol):
    """Where samples come from (:class:`~ghlake.lag.broker.BrokerOffsets` on the real stack)."""

    def read(self, now: float | None = None) -> BrokerView:
        """Every group's commits and members, and the logs' start and end offsets."""

    def record_timestamps(self, positions: Mapping[TopicPart, int]) -> dict[TopicPart, float]:
        """The timestamp of the record at each position, where it can be read."""

    def close(self) -> None:
        """Release the source's clients."""


@dataclass(frozen=True)
class PartitionLag:
    """One partition of one group, as of the latest sample."""

    partition: int
    committed: int | None  # None: the group never committed this partition
    end: int
    lag: int
    lag_seconds: float | None  # None: unknown (no record, no history to interpolate from)
    lag_seconds_method: Method | None
    catch_up_seconds: float | None  # None: not gaining on the log at the window's rates
    member: str | None
    status: Status


@dataclass(frozen=True)
class GroupLag:
    """One group on one topic: its status and totals over its partitions."""

    group: str
    topic: str
    status: Status
    lag: int
    lag_seconds: float | None  # the worst partition's
    members: int
    state: str
    active: bool
    partitions: tuple[PartitionLag, ...]

    def as_json(self) -> dict[str, object]:
        """The shape of ``GET /v1/lag`` and ``ghlake lag --json``."""
        return {
            "group": self.group, "topic": self.topic, "status": self.status.value,
            "lag": self.lag, "lag_seconds": _rounded(self.lag_seconds),
            "members": self.members, "state": self.state, "active": self.active,
            "partitions": [
                {"partition": p.partition, "committed": p.committed, "end": p.end, "lag": p.lag,
                 "lag_seconds": _rounded(p.lag_seconds), "lag_seconds_method": p.lag_seconds_method,
                 "catch_up_seconds": _rounded(p.catch_up_seconds), "member": p.member,
                 "status": p.status.value}
                for p in self.partitions
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class LagReport:
    """Every listed group at one moment (``at``, Unix seconds)."""

    at: float
    groups: tuple[GroupLag, ...] = ()
    error: str | None = None  # the broker could not be read; the groups are the last known

    def as_json(self) -> dict[str, object]:
        """``{"at", "groups": [...]}`` (plus ``error`` when the last sample failed)."""
        body: dict[str, object] = {"at": self.at, "groups": [g.as_json() for g in self.groups]}
        if self.error is not None:
            body["error"] = self.error
        return body

    def group(self, name: str) -> list[GroupLag]:
        """The entries (one per topic) of group ``name``."""
        return [g for g in self.groups if g.group == name]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def interpolated_age(history: Iterable[Sample], position: int, now: float) -> float | None:
    """Seconds since the log end passed ``position``, from samples of the end (oldest first).

    None when no two samples bracket the moment (the record is older than the history).
    """
    previous: Sample | None = None
    for sample in history:
        if sample.end > position:
            if previous is None:
                return None
            span = sample.end - previous.end
            fraction = (position - previous.end + 1) / span if span > 0 else 1.0
            written = previous.at + fraction * (sample.at - previous.at)
            return max(now - written, 0.0)
        previous = sample
    return None


@dataclass
class _Group:
    last_active: float
    last_positions: dict[TopicPart, int] = field(default_factory=dict)


class LagMonitor:
    """Samples ``source`` and keeps the windows; :meth:`sample` returns the new report.

    :meth:`start` runs the sampling in a daemon thread every ``interval`` seconds; the
    latest report is :attr:`report` (read by the API, the live page and ``/metrics``).
    """

    def __init__(
        self,
        source: OffsetSource,
        window: Window,
        *,
        inactive_after: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.window = window
        self.inactive_after = inactive_after
        self.clock = clock
        # Per (group, topic, partition): a full window, and back to ``stop_after`` seconds.
        self._samples: dict[tuple[str, str, int], deque[Sample]] = {}
        self._ends: dict[TopicPart, deque[Sample]] = {}
        self._groups: dict[str, _Group] = {}
        self.report = LagReport(clock())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sample(self) -> LagReport:
        """Take one sample of the broker, judge every partition, and return the report."""
        with self._lock:
            now = self.clock()
            try:
                view = self.source.read(now)
            except GhLakeError as exc:
                log.warning("lag sample failed", extra={"error": str(exc)})
                self.report = LagReport(now, self.report.groups, error=str(exc))
                return self.report
            self.report = LagReport(now, tuple(self._evaluate(view)))
            return self.report

    def _evaluate(self, view: BrokerView) -> list[GroupLag]:
        now = view.at
        for tp, (start, end) in view.logs.items():
            # The log ends, to interpolate record ages (a few windows back).
            ends = self._ends.setdefault(tp, deque(maxlen=self.window.size * 6))
            ends.append(Sample(now, None, end, start))
        out: list[GroupLag] = []
        seen_groups = set()
        for group in view.groups:
            seen_groups.add(group.group)
            state = self._groups.setdefault(group.group, _Group(last_active=now))
            samples_by_topic: dict[str, list[tuple[int, deque[Sample]]]] = {}
            moved = False
            for (topic, number), committed in sorted(group.committed.items()):
                if (topic, number) not in view.logs:
                    continue
                start, end = view.logs[(topic, number)]
                key = (group.group, topic, number)
                window = self._samples.setdefault(key, deque())
                sample = Sample(now, committed, end, start)
                if state.last_positions.get((topic, number)) not in (None, sample.position):
                    moved = True
                state.last_positions[(topic, number)] = sample.position
                window.append(sample)
                self._trim(window, now)
                samples_by_topic.setdefault(topic, []).append((number, window))
            if group.members > 0 or moved:
                state.last_active = now
            if now - state.last_active > self.inactive_after:
                continue
            for topic, windows in sorted(samples_by_topic.items()):
                out.append(self._group_lag(topic, group, windows, now))
        for gone in set(self._groups) - seen_groups:
            del self._groups[gone]
            for key in [k for k in self._samples if k[0] == gone]:
                del self._samples[key]
        return out

    def _trim(self, history: deque[Sample], now: float) -> None:
        """Keep a full window and enough history to see ``stop_after`` seconds back."""
        horizon = now - self.window.stop_after
        while len(history) > self.window.size and history[1].at <= horizon:
            history.popleft()

    def _group_lag(
        self,
        topic: str,
        group: GroupView,
        windows: list[tuple[int, deque[Sample]]],
        now: float,
    ) -> GroupLag:
        lagging = {(topic, number): w[-1].position for number, w in windows if w[-1].lag > 0}
        stamps = self.source.record_timestamps(lagging) if lagging else {}
        partitions = []
        for number, window in windows:
            latest = window[-1]
            seconds: float | None = 0.0
            method: Method | None = None
            if latest.lag > 0:
                stamp = stamps.get((topic, number))
                if stamp is not None:
                    seconds, method = max(now - stamp, 0.0), "record"
                else:
                    history = self._ends.get((topic, number), ())
                    seconds = interpolated_age(history, latest.position, now)
                    method = None if seconds is None else "interpolated"
            partitions.append(
                PartitionLag(
                    number, latest.committed, latest.end, latest.lag, seconds, method,
                    catch_up_seconds(window), group.owners.get((topic, number)),
                    partition_status(window, self.window, members=group.members),
                )
            )  # fmt: skip
        known = [p.lag_seconds for p in partitions if p.lag_seconds is not None]
        return GroupLag(
            group.group, topic, group_status(p.status for p in partitions),
            sum(p.lag for p in partitions), max(known) if known else None,
            group.members, group.state, group.members > 0, tuple(partitions),
        )  # fmt: skip

    # Running in the background

    def start(self, interval: float) -> None:
        """Sample every ``interval`` seconds in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.sample()
                except Exception:  # a bug must not kill the monitor; it is logged loudly
                    log.exception("lag sample crashed")
                self._stop.wait(max(interval - (time.monotonic() - started), 0.05))

        self._thread = threading.Thread(target=loop, name="ghlake-lag-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background sampling (waits for the current sample)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def close(self) -> None:
        """Stop sampling and release the source's clients."""
        self.stop()
        with self._lock:
            self.source.close()
