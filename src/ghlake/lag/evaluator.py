"""The status of a consumer group, judged over a sliding window of offset samples.

The rules follow LinkedIn's Burrow (its "consumer lag evaluation rules"), minus two of
its known mistakes. A window is the last few samples of one partition: when each was
taken, the group's committed offset and the partition's log end.

1. **No commit.** A partition the group never committed is shown as such (``committed``
   is None), with its lag counted from the log start; it is judged like any other.
2. **REWIND** when the committed offset went *down* between two samples of the window.
   Checked before everything else: Burrow's "any zero lag in the window is OK" rule runs
   first and so misses a rewind that happens after the group had caught up.
3. **OK** when the latest lag is zero (caught up), however the window went before.
4. **STOP** when the offset has not moved for ``stop_after`` seconds while there was lag
   and the group has no member: nobody is consuming. **STALL** is the same with members:
   consumers are there but do not advance. Burrow compares the time since the last
   commit with the *span of its window*, so a slow partition (a commit a minute, a window
   of ten seconds' worth of commits) is wrongly called STOP; here the limit is a time
   given in seconds, and an unmoved offset with zero lag is idle, not stopped.
5. **WARN** when the window is full, every sample had lag, and the lag grew between
   every pair of samples (never fell, rose at least once): the group falls behind, but
   still moves or has not been still for ``stop_after`` yet. A steady lag is not a
   warning (Burrow counts "stays the same" as one, which flags a healthy busy consumer).
6. Otherwise **OK**.

A group's status is its worst partition's: OK < WARN < (STOP, STALL, REWIND); partitions
failing in *different* ways make the group **ERR**.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

__all__ = ["Sample", "Status", "Window", "catch_up_seconds", "group_status", "partition_status"]


class Status(StrEnum):
    """Burrow's statuses, in the order of their severity codes (the Prometheus gauge)."""

    OK = "OK"
    WARN = "WARN"
    ERR = "ERR"
    STOP = "STOP"
    STALL = "STALL"
    REWIND = "REWIND"

    @property
    def code(self) -> int:
        """0 for OK, 1 for WARN, 2 and above for the errors (ghlake_consumergroup_status)."""
        return list(Status).index(self)

    @property
    def failing(self) -> bool:
        """Whether the status is an error (ERR, STOP, STALL, REWIND)."""
        return self.code >= Status.ERR.code


@dataclass(frozen=True)
class Sample:
    """One look at a partition: when (seconds), the committed offset (None: no commit), the end.

    ``start`` is the log start (the first retained offset), where a group without a
    commit would begin.
    """

    at: float
    committed: int | None
    end: int
    start: int = 0

    @property
    def position(self) -> int:
        """Where the group stands: its commit, or the log start without one."""
        return self.start if self.committed is None else self.committed

    @property
    def lag(self) -> int:
        """Messages between the group's position and the log end (never negative)."""
        return max(self.end - self.position, 0)


@dataclass(frozen=True)
class Window:
    """The rules' parameters: how many samples make a full window, and the stop limit."""

    size: int = 10
    stop_after: float = 30.0

    def __post_init__(self) -> None:
        if self.size < 3:
            raise ValueError("a window needs at least 3 samples to show a trend")
        if self.stop_after <= 0:
            raise ValueError("stop_after must be positive")


def _behind_since(samples: Sequence[Sample]) -> float:
    """When the trailing run of samples at one position, all with lag, began."""
    latest = samples[-1].position
    since = samples[-1].at
    for sample in reversed(samples):
        if sample.position != latest or sample.lag == 0:
            break
        since = sample.at
    return since


def partition_status(samples: Sequence[Sample], window: Window, *, members: int) -> Status:
    """One partition's status from its samples (oldest first) and the group's member count."""
    if not samples:
        return Status.OK
    pairs = list(pairwise(samples))
    if any(b.position < a.position for a, b in pairs):  # rule 2, before the zero-lag rule
        return Status.REWIND
    latest = samples[-1]
    if latest.lag == 0:  # rule 3
        return Status.OK
    # Rule 4: still *with lag* that long (an idle caught-up partition that then receives
    # a message is behind from that message on, not from when it went idle).
    if latest.at - _behind_since(samples) >= window.stop_after:
        return Status.STALL if members > 0 else Status.STOP
    if len(samples) >= window.size:  # rule 5: behind at every sample, and more and more
        lags = [s.lag for s in list(samples)[-window.size :]]
        steps = list(pairwise(lags))
        if min(lags) > 0 and all(b >= a for a, b in steps) and any(b > a for a, b in steps):
            return Status.WARN
    return Status.OK


def group_status(statuses: Iterable[Status]) -> Status:
    """The group's status from its partitions' (OK for a group without partitions)."""
    seen = set(statuses)
    failing = {s for s in seen if s.failing}
    if len(failing) > 1:
        return Status.ERR
    if failing:
        return failing.pop()
    return Status.WARN if Status.WARN in seen else Status.OK


def catch_up_seconds(samples: Sequence[Sample]) -> float | None:
    """Seconds until the lag is gone at the window's rates; 0 when caught up.

    The net rate is consumption (committed offsets per second) minus production (log end
    offsets per second) over the window; None when the group is not gaining on the log.
    """
    if not samples:
        return None
    latest = samples[-1]
    if latest.lag == 0:
        return 0.0
    first = samples[0]
    elapsed = latest.at - first.at
    if elapsed <= 0:
        return None
    consumed = (latest.position - first.position) / elapsed
    produced = (latest.end - first.end) / elapsed
    gaining = consumed - produced
    return latest.lag / gaining if gaining > 0 else None
