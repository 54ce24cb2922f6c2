"""The rows the warehouse's named queries answer with, as frozen dataclasses.

The engine's JSON rows (64-bit integers arrive as strings) are read into these by
their fields' types (see :class:`ghlake.warehouse.queries.Query`); extra columns are
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ActorActivity",
    "DailyActors",
    "DailyPullRequests",
    "EventTypeCount",
    "HourStages",
    "MinuteCount",
    "PartitionProgress",
    "RepositoryDay",
    "RepositoryRank",
    "SourceHourCount",
    "TrendingRepository",
]


@dataclass(frozen=True)
class EventTypeCount:
    """Deduplicated events of one type in a window."""

    event_type: str
    events: int


@dataclass(frozen=True)
class MinuteCount:
    """Deduplicated events of one type in one minute (the live dashboard's series)."""

    minute: str
    event_type: str
    events: int


@dataclass(frozen=True)
class RepositoryRank:
    """A repository and its value for the ranked metric."""

    repo_name: str
    repo_id: int
    value: int


@dataclass(frozen=True)
class RepositoryDay:
    """One repository, day and event type: events and distinct actors."""

    day: str
    event_type: str
    events: int
    actors: int


@dataclass(frozen=True)
class TrendingRepository:
    """Recent stars against the repository's baseline, with the new-account guard's count."""

    repo_name: str
    recent_stars: int
    credible_stars: int
    new_account_stars: int
    baseline_stars_per_day: float
    score: float


@dataclass(frozen=True)
class ActorActivity:
    """One actor's events on one day, of one type, in one repository."""

    day: str
    event_type: str
    repo_name: str
    events: int


@dataclass(frozen=True)
class DailyActors:
    """Distinct active actors and events of one day."""

    day: str
    actors: int
    events: int


@dataclass(frozen=True)
class DailyPullRequests:
    """Pull requests opened, merged and closed unmerged on one day."""

    day: str
    opened: int
    merged: int
    closed_unmerged: int


@dataclass(frozen=True)
class PartitionProgress:
    """How far the Kafka engine got in one partition: the highest offset written."""

    kafka_partition: int
    max_offset: int
    messages: int


@dataclass(frozen=True)
class SourceHourCount:
    """Deduplicated events of one GH Archive source hour."""

    source_hour: str
    events: int


@dataclass(frozen=True)
class HourStages:
    """One GH Archive hour as a reconciliation saw it: published, in the lake, in the warehouse."""

    hour: str
    hour_start: str  # 'YYYY-MM-DD HH:MM:SS', UTC
    published: int
    lake: int
    warehouse: int
    reconciled: bool = False
    checked_at: str = ""
