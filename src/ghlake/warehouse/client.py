"""Talking to the warehouse service (the process that owns the chDB engine).

One typed call for every catalogue query, ``client.query(QUERY, **params)``, which
returns the entry's rows (see :mod:`ghlake.warehouse.queries`); a few named wrappers
for the calls other code makes; and the non-query endpoints (SQL, migrations).

Queries go through ClickHouse's HTTP interface when the client has one
(``clickhouse=``, :class:`~ghlake.warehouse.clickhouse.ClickHouseQueries`: the Platform
always gives it), bound here and run by name; without one they go to the service's JSON
routes (the unit tests' in-process app).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import httpx

from ghlake.errors import InvalidInputError, ServiceError, Transient, WarehouseError
from ghlake.warehouse.clickhouse import ClickHouseQueries
from ghlake.warehouse.queries import (
    ACTIVE_ACTORS,
    COUNTS_BY_SOURCE_HOUR,
    EVENT_TYPE_COUNTS,
    INGEST_ERRORS,
    PULL_REQUESTS_DAILY,
    ROWS_BY_SOURCE_HOUR,
    TOP_REPOSITORIES,
    TRENDING_REPOSITORIES,
    Query,
)
from ghlake.warehouse.readonly import ReadOnlyResult
from ghlake.warehouse.rows import (
    DailyActors,
    DailyPullRequests,
    EventTypeCount,
    HourStages,
    RepositoryRank,
    TrendingRepository,
)

__all__ = ["WarehouseClient", "WarehouseUnavailableError"]

R = TypeVar("R")


class WarehouseUnavailableError(ServiceError, Transient):
    """The warehouse service does not answer."""


def _params(**values: object) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, date | datetime) else str(value)
    return out


class WarehouseClient:
    """The warehouse service over HTTP."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None = None,
        token: str | None = None,
        clickhouse: ClickHouseQueries | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = client or httpx.Client(timeout=60)
        self.token = token
        self.clickhouse = clickhouse

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise WarehouseUnavailableError(
                f"the warehouse at {self.base_url} does not answer: {exc}"
            ) from exc
        if response.status_code in (400, 401):
            raise InvalidInputError(f"{path}: {_detail(response)}")
        if response.status_code != 200:
            raise WarehouseError(f"{path} failed ({response.status_code}): {_detail(response)}")
        return response.json()

    def _rows(self, path: str, **params: object) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._send("GET", path, params=_params(**params))["rows"]
        return rows

    def _auth(self) -> dict[str, str]:
        if self.token is None:
            raise InvalidInputError("this endpoint needs the API token (WarehouseClient(token=))")
        return {"Authorization": f"Bearer {self.token}"}

    def named(self, name: str, params: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Rows of the named query ``name`` run with ``params``."""
        if self.clickhouse is not None:
            return self.clickhouse.rows(name, params or {})
        body = {"params": dict(params or {})}
        rows: list[dict[str, Any]] = self._send("POST", f"/v1/queries/{name}", json=body)["rows"]
        return rows

    def query(self, query: Query[R], **params: object) -> list[R]:
        """Rows of a catalogue query: bound here and run by name through ClickHouse's interface
        (or the service's JSON route of its path, or by name, without one)."""
        if query.path is None or self.clickhouse is not None:
            bound = query.bind(**params)
            return query.rows(self.named(bound.name, bound.params))
        path, rest = query.request(params)
        return query.rows(self._rows(path, **rest))

    def counts_by_source_hour(self, hours: Collection[str]) -> dict[str, int]:
        """Deduplicated events per source hour."""
        return {
            r.source_hour: r.events for r in self.query(COUNTS_BY_SOURCE_HOUR, hours=list(hours))
        }

    def rows_by_source_hour(self, hours: Collection[str]) -> dict[str, int]:
        """Rows stored per source hour, duplicates included: at least the deduplicated count.

        Reads one column instead of deduplicating the table, for polling while ingest runs.
        """
        return {r.source_hour: r.events for r in self.query(ROWS_BY_SOURCE_HOUR, hours=list(hours))}

    def event_type_counts(self, since: datetime, until: datetime) -> list[EventTypeCount]:
        """Deduplicated events per type in [since, until)."""
        return self.query(EVENT_TYPE_COUNTS, since=since, until=until)

    def top_repositories(
        self, metric: str, since: date, until: date, limit: int = 10
    ) -> list[RepositoryRank]:
        """Repositories ranked by ``stars``, ``forks``, ``pushes`` or ``pull_requests``."""
        return self.query(TOP_REPOSITORIES, metric=metric, since=since, until=until, limit=limit)

    def trending_repositories(self, until: datetime, **options: int) -> list[TrendingRepository]:
        """Repositories whose credible recent stars beat their own baseline the most."""
        return self.query(TRENDING_REPOSITORIES, until=until, **options)

    def active_actors(self, since: date, until: date) -> list[DailyActors]:
        """Distinct active actors per day over [since, until)."""
        return self.query(ACTIVE_ACTORS, since=since, until=until)

    def pull_requests_daily(
        self, since: date, until: date, repo: str = ""
    ) -> list[DailyPullRequests]:
        """Pull requests opened, merged and closed unmerged per day (one repository or all)."""
        return self.query(PULL_REQUESTS_DAILY, since=since, until=until, repo=repo)

    def ingest_errors(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest messages that did not become events, with topic, partition and offset."""
        return self.query(INGEST_ERRORS, limit=limit)

    def sql(self, sql: str, max_rows: int = 10_000, max_seconds: float = 10.0) -> ReadOnlyResult:
        """Run ``sql`` read-only (token required); the service caps rows and time."""
        body = {"sql": sql, "max_rows": max_rows, "max_seconds": max_seconds}
        data = self._send("POST", "/v1/sql", json=body, headers=self._auth())
        return ReadOnlyResult(data["columns"], data["rows"], bool(data["truncated"]))

    def record_hour_stages(self, stages: Sequence[HourStages]) -> int:
        """Record a reconciliation's counts per hour in ``hour_stages`` (token required)."""
        body = {
            "stages": [
                {
                    "hour": s.hour, "hour_start": s.hour_start, "published": s.published,
                    "lake": s.lake, "warehouse": s.warehouse,
                }
                for s in stages
            ]
        }  # fmt: skip
        recorded: int = self._send("POST", "/v1/hour-stages", json=body, headers=self._auth())[
            "recorded"
        ]
        return recorded

    def migrations(self) -> list[dict[str, Any]]:
        """Every migration with its applied time (None when pending)."""
        migrations: list[dict[str, Any]] = self._send("GET", "/v1/migrations")["migrations"]
        return migrations

    def migrate(self) -> dict[str, Any]:
        """Ask the service to apply pending migrations (token required); its report."""
        report: dict[str, Any] = self._send("POST", "/v1/migrate", headers=self._auth())
        return report

    def optimize(self, months: list[int]) -> list[str]:
        """Merge ``months`` (YYYYMM) of every table now (token required); the statements run."""
        data = self._send("POST", "/v1/optimize", json={"months": months}, headers=self._auth())
        statements: list[str] = data["statements"]
        return statements

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()
        if self.clickhouse is not None:
            self.clickhouse.close()

    def healthy(self) -> bool:
        """Whether the service answers its health check."""
        try:
            return self.http.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return str(detail)[:1000]
