"""The query catalogue: every named query of the warehouse, where it is served and what it takes.

One entry (:class:`Query`) per ``.sql`` file in ``queries/``: its name (the file), the
HTTP path the warehouse service serves it at (if any), a one-line summary, the typed
request parameters (default, bounds, meaning), the binding step that turns checked
request values into the query's ClickHouse parameters, and the row type. The SQL names
typed placeholders (``{since:Date}``, ``{repo:String}``); the bound values travel
separately (see :mod:`ghlake.warehouse.engine`), never formatted into the text.

Everything else is derived from :data:`CATALOGUE`: the warehouse service's routes
(``ghlake.warehouse_api.routes.queries``), :meth:`ghlake.warehouse.client.WarehouseClient.query`
and the public API's forwarding list (``ghlake.api.routes.warehouse``).

A request is bound in three steps (:meth:`Query.bind`):

1. Each parameter takes its value or its default (a constant, or computed per request:
   "now", "until - 1 day"), and is checked against its type and bounds.
2. The entry's binder checks what spans parameters (a window's length) and returns the
   ClickHouse parameters, or the bound call of another entry (top repositories by pull
   requests run their own query).
3. The engine binds those values to the ``.sql`` file's placeholders.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, Generic, TypeVar, cast, get_type_hints
from urllib.parse import quote

from ghlake.errors import InvalidInputError
from ghlake.warehouse.rows import (
    ActorActivity,
    DailyActors,
    DailyPullRequests,
    EventTypeCount,
    HourStages,
    MinuteCount,
    PartitionProgress,
    RepositoryDay,
    RepositoryRank,
    SourceHourCount,
    TrendingRepository,
)

__all__ = [
    "ACTIVE_ACTORS",
    "ACTOR_ACTIVITY",
    "CATALOGUE",
    "COUNTS_BY_SOURCE_HOUR",
    "DEAD_LETTERS",
    "EVENTS_PER_MINUTE",
    "EVENT_TYPE_COUNTS",
    "HOUR_STAGES",
    "INGEST_ERRORS",
    "INGEST_PROGRESS",
    "KAFKA_CONSUMERS",
    "LATEST_EVENTS",
    "LIVE_TYPE_TOTALS",
    "METRICS",
    "PULL_REQUESTS_DAILY",
    "REPOSITORY_ACTIVITY",
    "ROWS_BY_SOURCE_HOUR",
    "TABLE_ROWS",
    "TOP_REPOSITORIES",
    "TOP_REPOSITORIES_PULL_REQUESTS",
    "TRENDING_REPOSITORIES",
    "BoundQuery",
    "Default",
    "Param",
    "Query",
    "named_query",
    "query_names",
]

R = TypeVar("R")
Values = dict[str, Any]

MAX_WINDOW = timedelta(days=3660)
MAX_LIMIT = 10_000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def query_names() -> list[str]:
    """Every ``.sql`` file in ``queries/``, by name."""
    folder = resources.files("ghlake.warehouse") / "queries"
    return sorted(f.name.removesuffix(".sql") for f in folder.iterdir() if f.name.endswith(".sql"))


def named_query(name: str) -> str:
    """The SQL of a named query in ``queries/``."""
    folder = resources.files("ghlake.warehouse") / "queries"
    path = folder / f"{name}.sql"
    if not _NAME.match(name) or not path.is_file():
        raise InvalidInputError(f"no named query {name!r}")
    return path.read_text()


# The catalogue's parts.


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Default:
    """A default computed per request, from the parameter named ``after`` if any."""

    text: str
    compute: Callable[[Values], object]
    after: str | None = None


@dataclass(frozen=True)
class Param:
    """A request parameter: its Python type, default (a constant or a :class:`Default`), bounds."""

    name: str
    type: type
    description: str
    default: object = REQUIRED
    bounds: tuple[int, int] | None = None
    in_path: bool = False

    @property
    def required(self) -> bool:
        """Whether a request must give this parameter."""
        return self.default is REQUIRED

    @property
    def doc(self) -> str:
        """The description, with a computed default spelled out."""
        if isinstance(self.default, Default):
            return f"{self.description}; default: {self.default.text}"
        return self.description

    def resolve(self, value: object, known: Values) -> object:
        """``value`` (or the default when None), checked against type and bounds."""
        if value is None:
            if self.required:
                raise InvalidInputError(f"{self.name} is required")
            value = (
                self.default.compute(known) if isinstance(self.default, Default) else self.default
            )
        if not isinstance(value, self.type):
            raise InvalidInputError(f"{self.name} must be a {self.type.__name__}, not {value!r}")
        if self.in_path and not value:
            raise InvalidInputError(f"{self.name} must not be empty")
        if self.bounds and not self.bounds[0] <= cast(int, value) <= self.bounds[1]:
            low, high = self.bounds
            raise InvalidInputError(f"{self.name} must be {low}..{high}, not {value}")
        return value


@dataclass(frozen=True)
class BoundQuery:
    """A ``.sql`` file's name and the ClickHouse parameters it is bound with."""

    name: str
    params: dict[str, object]


Binder = Callable[[Values], Mapping[str, object] | BoundQuery]


@dataclass(frozen=True)
class Query(Generic[R]):
    """One catalogue entry: a named query, where it is served, its parameters and rows."""

    name: str
    summary: str
    row: type[R]
    params: tuple[Param, ...] = ()
    path: str | None = None
    binder: Binder = dict

    def bind(self, **values: object) -> BoundQuery:
        """Check request ``values`` (None: not given) and bind them for the engine."""
        self._known(values)
        resolved: Values = {}
        # Computed defaults that read another parameter come after it.
        for param in sorted(self.params, key=_computed_from_another):
            resolved[param.name] = param.resolve(values.get(param.name), resolved)
        bound = self.binder(resolved)
        return bound if isinstance(bound, BoundQuery) else BoundQuery(self.name, dict(bound))

    def request(self, values: Mapping[str, object]) -> tuple[str, dict[str, object]]:
        """A request's path (its path parameters filled in, quoted) and its query values."""
        if self.path is None:
            raise InvalidInputError(f"{self.name} has no HTTP path; run it by name")
        self._known(values)
        in_path = [p.name for p in self.params if p.in_path]
        missing = [name for name in in_path if values.get(name) is None]
        if missing:
            raise InvalidInputError(f"{self.name} needs {', '.join(missing)}")
        path = self.path.format(**{name: quote(str(values[name]), safe="") for name in in_path})
        return path, {k: v for k, v in values.items() if k not in in_path}

    def _known(self, values: Mapping[str, object]) -> None:
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise InvalidInputError(
                f"{self.name} has no parameter {', '.join(sorted(unknown))} (it takes {known})"
            )

    def rows(self, raw: list[dict[str, Any]]) -> list[R]:
        """The engine's JSON rows as this entry's row type (dicts stay as they came)."""
        if not dataclasses.is_dataclass(self.row):
            return cast(list[R], raw)
        fields = _fields(self.row)
        return [self.row(**{name: kind(r[name]) for name, kind in fields}) for r in raw]


def _computed_from_another(param: Param) -> bool:
    return isinstance(param.default, Default) and param.default.after is not None


@functools.cache
def _fields(row: type[Any]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = get_type_hints(row)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(row))


# Defaults, parameters and binding steps that several entries share.


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def _now(_: Values) -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _tomorrow(_: Values) -> date:
    return datetime.now(UTC).date() + timedelta(days=1)


def _before_until(days: int) -> Callable[[Values], object]:
    def compute(values: Values) -> object:
        try:
            return values["until"] - timedelta(days=days)
        except OverflowError as exc:
            raise InvalidInputError(f"until {values['until']} leaves no room for a window") from exc

    return compute


# ClickHouse's DateTime holds 1970-01-01 .. 2106-02-07; a window stays inside with a margin.
EARLIEST, LATEST = date(1970, 1, 2), date(2106, 1, 1)


def _in_range(moment: date) -> None:
    day = _utc(moment).date() if isinstance(moment, datetime) else moment
    if not EARLIEST <= day <= LATEST:
        raise InvalidInputError(
            f"{moment} is outside the warehouse's time range ({EARLIEST} .. {LATEST})"
        )


SINCE = Param("since", datetime, "start (UTC)", Default("until - 1 day", _before_until(1), "until"))
UNTIL = Param("until", datetime, "end, exclusive (UTC)", Default("now", _now))
SINCE_DAY = Param(
    "since", date, "first day", Default("until - 30 days", _before_until(30), "until")
)
UNTIL_DAY = Param("until", date, "day after the last", Default("tomorrow", _tomorrow))


def _limit(default: int) -> Param:
    return Param("limit", int, "rows at most", default, bounds=(1, MAX_LIMIT))


def _check_window(since: date, until: date) -> None:
    _in_range(since)
    _in_range(until)
    if until <= since:
        raise InvalidInputError(f"the window is empty: since {since} is not before until {until}")
    if until - since > MAX_WINDOW:
        raise InvalidInputError(f"the window is longer than {MAX_WINDOW.days} days")


def _window(values: Values) -> dict[str, object]:
    """since and until as UTC timestamps, after checking the window."""
    since, until = _utc(values["since"]), _utc(values["until"])
    _check_window(since, until)
    return {"since": _stamp(since), "until": _stamp(until)}


def _days(values: Values) -> dict[str, object]:
    """since and until as days, after checking the window."""
    _check_window(values["since"], values["until"])
    return {"since": values["since"].isoformat(), "until": values["until"].isoformat()}


# The entries.

_METRIC_TYPES = {"stars": ("WatchEvent", 1), "forks": ("ForkEvent", 0), "pushes": ("PushEvent", 0)}
METRICS = (*_METRIC_TYPES, "pull_requests")


def _top_repositories(values: Values) -> dict[str, object] | BoundQuery:
    days, metric = _days(values), values["metric"]
    if metric == "pull_requests":
        window = {"since": values["since"], "until": values["until"]}
        return TOP_REPOSITORIES_PULL_REQUESTS.bind(**window, limit=values["limit"])
    if metric not in _METRIC_TYPES:
        raise InvalidInputError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    event_type, count_actors = _METRIC_TYPES[metric]
    return {
        "event_type": event_type,
        "count_actors": count_actors,
        **days,
        "limit": values["limit"],
    }


def _trending(values: Values) -> dict[str, object]:
    # Negative min_stars means no threshold, as 0 does.
    _in_range(values["until"])
    return {**values, "until": _stamp(values["until"]), "min_stars": max(values["min_stars"], 0)}


EVENT_TYPE_COUNTS = Query(
    "event_type_counts", "event counts per type over a window", EventTypeCount,
    params=(SINCE, UNTIL), path="/v1/event-types", binder=_window,
)  # fmt: skip
EVENTS_PER_MINUTE = Query(
    "events_per_minute", "events per minute by type over a window (the live series)",
    MinuteCount, params=(SINCE, UNTIL), path="/v1/events-per-minute", binder=_window,
)  # fmt: skip
TOP_REPOSITORIES = Query(
    "top_repositories", "top repositories by stars, forks, pushes or pull requests opened",
    RepositoryRank,
    params=(Param("metric", str, f"one of {', '.join(METRICS)}", "stars"),
            SINCE_DAY, UNTIL_DAY, _limit(10)),
    path="/v1/top-repositories", binder=_top_repositories,
)  # fmt: skip
TOP_REPOSITORIES_PULL_REQUESTS = Query(
    "top_repositories_pull_requests", "top repositories by pull requests opened, with merges",
    RepositoryRank, params=(SINCE_DAY, UNTIL_DAY, _limit(10)),
    binder=lambda v: {**_days(v), "limit": v["limit"]},
)  # fmt: skip
REPOSITORY_ACTIVITY = Query(
    "repository_activity", "one repository's events and actors per day and type",
    RepositoryDay,
    params=(Param("owner", str, "the repository's owner", in_path=True),
            Param("name", str, "the repository's name", in_path=True), SINCE_DAY, UNTIL_DAY),
    path="/v1/repositories/{owner}/{name}/activity",
    binder=lambda v: {"repo": f"{v['owner']}/{v['name']}", **_days(v)},
)  # fmt: skip
TRENDING_REPOSITORIES = Query(
    "trending_repositories",
    "recent stars against each repository's baseline, stars of new accounts discounted",
    TrendingRepository,
    params=(UNTIL,
            Param("recent_hours", int, "hours of the recent window", 24, bounds=(1, 24 * 31)),
            Param("baseline_days", int, "days of the baseline before it", 28, bounds=(1, 366)),
            Param("min_account_age_days", int,
                  "an account this old (or doing more than starring) is credible", 30,
                  bounds=(0, 3650)),
            Param("min_stars", int, "credible recent stars at least", 5,
                  bounds=(-1_000_000_000, 1_000_000_000)),
            _limit(20)),
    path="/v1/trending", binder=_trending,
)  # fmt: skip
ACTOR_ACTIVITY = Query(
    "actor_activity", "one actor's events per day, type and repository over a window",
    ActorActivity,
    params=(Param("login", str, "the actor's login", in_path=True), SINCE, UNTIL, _limit(1000)),
    path="/v1/actors/{login}/activity",
    binder=lambda v: {"actor": v["login"], **_window(v), "limit": v["limit"]},
)  # fmt: skip
ACTIVE_ACTORS = Query(
    "active_actors", "distinct active actors per day", DailyActors,
    params=(SINCE_DAY, UNTIL_DAY), path="/v1/active-actors", binder=_days,
)  # fmt: skip
PULL_REQUESTS_DAILY = Query(
    "pull_requests_daily", "pull requests opened, merged and closed unmerged per day",
    DailyPullRequests,
    params=(Param("repo", str, "owner/name; empty: every repository", ""), SINCE_DAY, UNTIL_DAY),
    path="/v1/pull-requests", binder=lambda v: {**_days(v), "repo": v["repo"]},
)  # fmt: skip
INGEST_PROGRESS = Query(
    "ingest_progress", "per Kafka partition, the highest offset the warehouse has written",
    PartitionProgress, path="/v1/ingest/progress",
)  # fmt: skip
INGEST_ERRORS = Query(
    "ingest_errors", "the latest messages the warehouse could not ingest, with their place",
    dict[str, Any], params=(_limit(100),), path="/v1/ingest/errors",
    binder=lambda v: {"limit": v["limit"], "raw_chars": 2000},
)  # fmt: skip
COUNTS_BY_SOURCE_HOUR = Query(
    "counts_by_source_hour", "deduplicated events per GH Archive source hour", SourceHourCount,
    params=(Param("hours", list, "source hour labels"),),
    binder=lambda v: {"hours": sorted(v["hours"])},
)  # fmt: skip
ROWS_BY_SOURCE_HOUR = Query(
    "rows_by_source_hour", "rows stored per source hour, before deduplication (cheap)",
    SourceHourCount, params=(Param("hours", list, "source hour labels"),),
    binder=lambda v: {"hours": sorted(v["hours"])},
)  # fmt: skip
DEAD_LETTERS = Query(
    "dead_letters", "the latest dead letters, with their reason, provenance and place",
    dict[str, Any], params=(_limit(100),), path="/v1/dead-letters",
    binder=lambda v: {"limit": v["limit"], "raw_chars": 2000},
)  # fmt: skip
HOUR_STAGES = Query(
    "hour_stages", "each hour's latest reconciliation: published, lake, warehouse",
    HourStages, params=(_limit(48),), path="/v1/hour-stages",
)  # fmt: skip
TABLE_ROWS = Query(
    "table_rows", "rows per warehouse table (parts on disk), for health and metrics",
    dict[str, Any],
)  # fmt: skip
LIVE_TYPE_TOTALS = Query(
    "live_type_totals", "rows received per event type, not deduplicated (the live page's rates)",
    dict[str, Any],
)  # fmt: skip
LATEST_EVENTS = Query(
    "latest_events", "the most recent events: type, repository, actor, time",
    dict[str, Any], params=(_limit(10),),
)  # fmt: skip
KAFKA_CONSUMERS = Query(
    "kafka_consumers", "the Kafka engine's consumers as ClickHouse sees them (lag cross-check)",
    dict[str, Any],
)  # fmt: skip

CATALOGUE: dict[str, Query[Any]] = {
    q.name: q
    for q in (
        EVENT_TYPE_COUNTS, EVENTS_PER_MINUTE, TOP_REPOSITORIES, TOP_REPOSITORIES_PULL_REQUESTS,
        REPOSITORY_ACTIVITY, TRENDING_REPOSITORIES, ACTOR_ACTIVITY, ACTIVE_ACTORS,
        PULL_REQUESTS_DAILY, INGEST_PROGRESS, INGEST_ERRORS, COUNTS_BY_SOURCE_HOUR,
        ROWS_BY_SOURCE_HOUR, TABLE_ROWS, DEAD_LETTERS, HOUR_STAGES,
        KAFKA_CONSUMERS, LIVE_TYPE_TOTALS, LATEST_EVENTS,
    )
}  # fmt: skip
