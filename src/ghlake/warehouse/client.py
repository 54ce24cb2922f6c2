"""Talking to the warehouse service (the process that owns the chDB engine).

One typed method per endpoint; results come back as the frozen dataclasses of
:mod:`ghlake.warehouse.dashboards` and :mod:`ghlake.warehouse.readonly`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

import httpx

from ghlake.errors import InvalidInputError, ServiceError, Transient, WarehouseError
from ghlake.warehouse.dashboards import (
    ActorActivity,
    DailyActors,
    DailyPullRequests,
    EventTypeCount,
    RepositoryDay,
    RepositoryRank,
    TrendingRepository,
)
from ghlake.warehouse.readonly import ReadOnlyResult

__all__ = ["WarehouseClient", "WarehouseUnavailableError"]


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
        self, base_url: str, client: httpx.Client | None = None, token: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = client or httpx.Client(timeout=60)
        self.token = token

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
        body = {"params": dict(params or {})}
        rows: list[dict[str, Any]] = self._send("POST", f"/v1/queries/{name}", json=body)["rows"]
        return rows

    def counts_by_source_hour(self, hours: Collection[str]) -> dict[str, int]:
        """Deduplicated events per source hour."""
        rows = self.named("counts_by_source_hour", {"hours": sorted(hours)})
        return {row["source_hour"]: int(row["events"]) for row in rows}

    def event_type_counts(self, since: datetime, until: datetime) -> list[EventTypeCount]:
        """Deduplicated events per type in [since, until)."""
        rows = self._rows("/v1/event-types", since=since, until=until)
        return [EventTypeCount(r["event_type"], int(r["events"])) for r in rows]

    def events_per_minute(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Events per minute and type (minute, event_type, events) in [since, until)."""
        return self._rows("/v1/events-per-minute", since=since, until=until)

    def top_repositories(
        self, metric: str, since: date, until: date, limit: int = 10
    ) -> list[RepositoryRank]:
        """Repositories ranked by ``stars``, ``forks``, ``pushes`` or ``pull_requests``."""
        rows = self._rows(
            "/v1/top-repositories", metric=metric, since=since, until=until, limit=limit
        )
        return [RepositoryRank(r["repo_name"], int(r["repo_id"]), int(r["value"])) for r in rows]

    def repository_activity(self, repo: str, since: date, until: date) -> list[RepositoryDay]:
        """One repository's events and actors per day and type over [since, until)."""
        owner, _, name = repo.partition("/")
        rows = self._rows(f"/v1/repositories/{owner}/{name}/activity", since=since, until=until)
        return [
            RepositoryDay(r["day"], r["event_type"], int(r["events"]), int(r["actors"]))
            for r in rows
        ]

    def trending_repositories(
        self,
        until: datetime,
        *,
        recent_hours: int = 24,
        baseline_days: int = 28,
        min_account_age_days: int = 30,
        min_stars: int = 5,
        limit: int = 20,
    ) -> list[TrendingRepository]:
        """Repositories whose credible recent stars beat their own baseline the most."""
        rows = self._rows(
            "/v1/trending", until=until, recent_hours=recent_hours, baseline_days=baseline_days,
            min_account_age_days=min_account_age_days, min_stars=min_stars, limit=limit,
        )  # fmt: skip
        return [
            TrendingRepository(
                r["repo_name"],
                int(r["recent_stars"]),
                int(r["credible_stars"]),
                int(r["new_account_stars"]),
                float(r["baseline_stars_per_day"]),
                float(r["score"]),
            )
            for r in rows
        ]

    def actor_activity(
        self, actor: str, since: datetime, until: datetime, limit: int = 1000
    ) -> list[ActorActivity]:
        """One actor's events per day, type and repository in [since, until)."""
        rows = self._rows(f"/v1/actors/{actor}/activity", since=since, until=until, limit=limit)
        return [
            ActorActivity(r["day"], r["event_type"], r["repo_name"], int(r["events"])) for r in rows
        ]

    def active_actors(self, since: date, until: date) -> list[DailyActors]:
        """Distinct active actors per day over [since, until)."""
        rows = self._rows("/v1/active-actors", since=since, until=until)
        return [DailyActors(r["day"], int(r["actors"]), int(r["events"])) for r in rows]

    def pull_requests_daily(
        self, since: date, until: date, repo: str = ""
    ) -> list[DailyPullRequests]:
        """Pull requests opened, merged and closed unmerged per day (one repository or all)."""
        rows = self._rows("/v1/pull-requests", since=since, until=until, repo=repo)
        return [
            DailyPullRequests(
                r["day"], int(r["opened"]), int(r["merged"]), int(r["closed_unmerged"])
            )
            for r in rows
        ]

    def ingest_progress(self) -> dict[int, int]:
        """Per Kafka partition, the highest offset the warehouse has written."""
        rows = self._rows("/v1/ingest/progress")
        return {int(r["kafka_partition"]): int(r["max_offset"]) for r in rows}

    def ingest_errors(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest messages that did not become events, with topic, partition and offset."""
        return self._rows("/v1/ingest/errors", limit=limit)

    def sql(self, sql: str, max_rows: int = 10_000, max_seconds: float = 10.0) -> ReadOnlyResult:
        """Run ``sql`` read-only (token required); the service caps rows and time."""
        body = {"sql": sql, "max_rows": max_rows, "max_seconds": max_seconds}
        data = self._send("POST", "/v1/sql", json=body, headers=self._auth())
        return ReadOnlyResult(data["columns"], data["rows"], bool(data["truncated"]))

    def migrations(self) -> list[dict[str, Any]]:
        """Every migration with its applied time (None when pending)."""
        migrations: list[dict[str, Any]] = self._send("GET", "/v1/migrations")["migrations"]
        return migrations

    def migrate(self) -> dict[str, Any]:
        """Ask the service to apply pending migrations (token required); its report."""
        report: dict[str, Any] = self._send("POST", "/v1/migrate", headers=self._auth())
        return report

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()

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
