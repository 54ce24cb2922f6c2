"""The dashboard questions the warehouse answers, as named queries with checked parameters.

Each function turns a question (a window, a repository, a metric) into the name of a
query in ``queries/`` and its bound parameters, after checking the input; the warehouse
service runs it and the client reads the rows back into the dataclasses below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from ghlake.errors import InvalidInputError

__all__ = [
    "METRICS",
    "ActorActivity",
    "DailyActors",
    "DailyPullRequests",
    "EventTypeCount",
    "Metric",
    "NamedCall",
    "RepositoryDay",
    "RepositoryRank",
    "TrendingRepository",
    "active_actors",
    "actor_activity",
    "event_type_counts",
    "events_per_minute",
    "pull_requests_daily",
    "repository_activity",
    "top_repositories",
    "trending_repositories",
]

Metric = Literal["stars", "forks", "pushes", "pull_requests"]
METRICS: tuple[Metric, ...] = ("stars", "forks", "pushes", "pull_requests")
MAX_WINDOW = timedelta(days=3660)
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class NamedCall:
    """A named query and the parameters it is bound with."""

    name: str
    params: dict[str, object]


@dataclass(frozen=True)
class EventTypeCount:
    """Deduplicated events of one type in a window."""

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


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def _window(since: datetime, until: datetime) -> tuple[str, str]:
    since, until = _utc(since), _utc(until)
    if until <= since:
        raise InvalidInputError(f"the window is empty: since {since} is not before until {until}")
    if until - since > MAX_WINDOW:
        raise InvalidInputError(f"the window is longer than {MAX_WINDOW.days} days")
    return _stamp(since), _stamp(until)


def _days(since: date, until: date) -> tuple[str, str]:
    if until <= since:
        raise InvalidInputError(f"the window is empty: since {since} is not before until {until}")
    if until - since > MAX_WINDOW:
        raise InvalidInputError(f"the window is longer than {MAX_WINDOW.days} days")
    return since.isoformat(), until.isoformat()


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be 1..{MAX_LIMIT}, not {limit}")
    return limit


def event_type_counts(since: datetime, until: datetime) -> NamedCall:
    """Events per type in [since, until)."""
    start, end = _window(since, until)
    return NamedCall("event_type_counts", {"since": start, "until": end})


def events_per_minute(since: datetime, until: datetime) -> NamedCall:
    """Events per minute and type in [since, until) (the live dashboard's series)."""
    start, end = _window(since, until)
    return NamedCall("events_per_minute", {"since": start, "until": end})


_METRIC_TYPES = {"stars": ("WatchEvent", 1), "forks": ("ForkEvent", 0), "pushes": ("PushEvent", 0)}


def top_repositories(metric: str, since: date, until: date, limit: int = 10) -> NamedCall:
    """Repositories ranked by stars, forks, pushes or pull requests opened over days."""
    start, end = _days(since, until)
    if metric == "pull_requests":
        return NamedCall(
            "top_repositories_pull_requests",
            {"since": start, "until": end, "limit": _limit(limit)},
        )
    if metric not in _METRIC_TYPES:
        raise InvalidInputError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    event_type, count_actors = _METRIC_TYPES[metric]
    return NamedCall(
        "top_repositories",
        {"event_type": event_type, "count_actors": count_actors, "since": start, "until": end,
         "limit": _limit(limit)},
    )  # fmt: skip


def repository_activity(repo: str, since: date, until: date) -> NamedCall:
    """One repository's events and actors per day and type."""
    if "/" not in repo:
        raise InvalidInputError(f"a repository is owner/name, not {repo!r}")
    start, end = _days(since, until)
    return NamedCall("repository_activity", {"repo": repo, "since": start, "until": end})


def trending_repositories(
    until: datetime,
    *,
    recent_hours: int = 24,
    baseline_days: int = 28,
    min_account_age_days: int = 30,
    min_stars: int = 5,
    limit: int = 20,
) -> NamedCall:
    """Repositories whose credible recent stars beat their own baseline the most."""
    if not 1 <= recent_hours <= 24 * 31:
        raise InvalidInputError("recent_hours must be 1..744")
    if not 1 <= baseline_days <= 366:
        raise InvalidInputError("baseline_days must be 1..366")
    if not 0 <= min_account_age_days <= 3650:
        raise InvalidInputError("min_account_age_days must be 0..3650")
    return NamedCall(
        "trending_repositories",
        {"until": _stamp(until), "recent_hours": recent_hours, "baseline_days": baseline_days,
         "min_account_age_days": min_account_age_days, "min_stars": max(min_stars, 0),
         "limit": _limit(limit)},
    )  # fmt: skip


def actor_activity(actor: str, since: datetime, until: datetime, limit: int = 1000) -> NamedCall:
    """One actor's events per day, type and repository in [since, until)."""
    if not actor:
        raise InvalidInputError("an actor login is required")
    start, end = _window(since, until)
    return NamedCall(
        "actor_activity", {"actor": actor, "since": start, "until": end, "limit": _limit(limit)}
    )


def active_actors(since: date, until: date) -> NamedCall:
    """Distinct active actors per day."""
    start, end = _days(since, until)
    return NamedCall("active_actors", {"since": start, "until": end})


def pull_requests_daily(since: date, until: date, repo: str = "") -> NamedCall:
    """Pull requests opened / merged per day, for one repository or all."""
    start, end = _days(since, until)
    return NamedCall("pull_requests_daily", {"since": start, "until": end, "repo": repo})


def as_int(row: dict[str, Any], key: str) -> int:
    """An integer column (ClickHouse sends 64-bit integers as JSON strings)."""
    return int(row[key])
