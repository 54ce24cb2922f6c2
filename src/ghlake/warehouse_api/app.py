"""The warehouse service: the one process that owns the chDB engine.

chDB allows one process per data path, so this service opens the engine, migrates the
schema (which starts the Kafka engine consuming the events topic in the background)
and answers for every other process:

- ``GET /healthz``, ``GET /metrics``
- ``POST /v1/queries/{name}``: any named query with bound parameters
- the dashboard endpoints (``/v1/event-types``, ``/v1/top-repositories``,
  ``/v1/repositories/{owner}/{name}/activity``, ``/v1/trending``,
  ``/v1/actors/{login}/activity``, ``/v1/active-actors``, ``/v1/pull-requests``,
  ``/v1/events-per-minute``) and ingest checks (``/v1/ingest/progress``,
  ``/v1/ingest/errors``)
- ``POST /v1/sql``: read-only SQL (token required; read-only mode and limits applied
  by the engine, see :mod:`ghlake.warehouse.readonly`)
- ``GET /v1/migrations``, ``POST /v1/migrate`` (token required)
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from pydantic import BaseModel, Field

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.settings import Settings
from ghlake.warehouse import dashboards
from ghlake.warehouse.dashboards import NamedCall
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.migrations import migrate, migration_status
from ghlake.warehouse.offsets import rewind_to_earliest
from ghlake.warehouse.queries import named_query
from ghlake.warehouse.readonly import DEFAULT_LIMITS, ReadOnlyLimits

__all__ = ["SqlRequest", "create_warehouse_app"]

log = logging.getLogger(__name__)


class SqlRequest(BaseModel):
    """A read-only SQL query and the limits the caller asks for (capped by the service's)."""

    sql: str = Field(min_length=1, max_length=100_000)
    max_rows: int = Field(DEFAULT_LIMITS.max_rows, ge=1, le=DEFAULT_LIMITS.max_rows)
    max_seconds: float = Field(DEFAULT_LIMITS.max_seconds, gt=0, le=DEFAULT_LIMITS.max_seconds)


def _engine(request: Request) -> ChdbEngine:
    engine: ChdbEngine = request.app.state.engine
    return engine


def _require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    settings: Settings = request.app.state.settings
    expected = f"Bearer {settings.api_token}"
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise HTTPException(status_code=401, detail="a valid bearer token is required")


EngineDep = Annotated[ChdbEngine, Depends(_engine)]
TokenDep = Annotated[None, Depends(_require_token)]
Since = Annotated[datetime | None, Query(description="start (UTC); default: until - 1 day")]
Until = Annotated[datetime | None, Query(description="end, exclusive (UTC); default: now")]
SinceDay = Annotated[date | None, Query(description="first day; default: 30 days back")]
UntilDay = Annotated[date | None, Query(description="day after the last; default: tomorrow")]


def _today() -> date:
    return datetime.now(UTC).date()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def create_warehouse_app(settings: Settings) -> FastAPI:  # noqa: PLR0915 - one route per endpoint
    """The warehouse service's HTTP app for ``settings``."""
    registry = CollectorRegistry()
    rows_gauge = Gauge(
        "ghlake_warehouse_rows", "Rows per warehouse table", ["table"], registry=registry
    )
    sql_refused = Counter(
        "ghlake_warehouse_sql_refused", "Read-only SQL queries refused", registry=registry
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = ChdbEngine(settings.state_dir / "warehouse" / "chdb")
        report = migrate(engine, settings, rewind=lambda: rewind_to_earliest(settings))
        engine.execute(f"USE {settings.warehouse.database}")
        log.info("warehouse schema migrated: %s", report)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.close()

    app = FastAPI(title="ghlake warehouse service", lifespan=lifespan)
    app.state.settings = settings

    async def run(engine: ChdbEngine, call: NamedCall) -> dict[str, Any]:
        try:
            sql = named_query(call.name)
            rows = await run_in_threadpool(engine.rows, sql, call.params)
        except InvalidInputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        except WarehouseError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"rows": rows}

    def checked(build: Any, *args: Any, **kwargs: Any) -> NamedCall:
        try:
            call: NamedCall = build(*args, **kwargs)
        except InvalidInputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return call

    @app.get("/healthz")
    async def healthz(engine: EngineDep) -> dict[str, Any]:
        rows = await run_in_threadpool(engine.rows, named_query("table_rows"))
        return {"status": "ok", "tables": rows[0]}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(engine: EngineDep) -> str:
        rows = await run_in_threadpool(engine.rows, named_query("table_rows"))
        for table, count in rows[0].items():
            rows_gauge.labels(table).set(float(count))
        return generate_latest(registry).decode()

    @app.post("/v1/queries/{name}")
    async def run_named(
        name: str, engine: EngineDep, params: Annotated[dict[str, Any], Body(embed=True)]
    ) -> dict[str, Any]:
        return await run(engine, NamedCall(name, params))

    def window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
        end = until or _now()
        return since or end - timedelta(days=1), end

    def days(since: date | None, until: date | None) -> tuple[date, date]:
        end = until or _today() + timedelta(days=1)
        return since or end - timedelta(days=30), end

    @app.get("/v1/event-types")
    async def event_types(
        engine: EngineDep, since: Since = None, until: Until = None
    ) -> dict[str, Any]:
        return await run(engine, checked(dashboards.event_type_counts, *window(since, until)))

    @app.get("/v1/events-per-minute")
    async def per_minute(
        engine: EngineDep, since: Since = None, until: Until = None
    ) -> dict[str, Any]:
        return await run(engine, checked(dashboards.events_per_minute, *window(since, until)))

    @app.get("/v1/top-repositories")
    async def top_repositories(
        engine: EngineDep,
        metric: str = "stars",
        since: SinceDay = None,
        until: UntilDay = None,
        limit: int = 10,
    ) -> dict[str, Any]:
        call = checked(dashboards.top_repositories, metric, *days(since, until), limit)
        return await run(engine, call)

    @app.get("/v1/repositories/{owner}/{name}/activity")
    async def repository_activity(
        owner: str, name: str, engine: EngineDep, since: SinceDay = None, until: UntilDay = None
    ) -> dict[str, Any]:
        call = checked(dashboards.repository_activity, f"{owner}/{name}", *days(since, until))
        return await run(engine, call)

    @app.get("/v1/trending")
    async def trending(  # noqa: PLR0917 - FastAPI query parameters
        engine: EngineDep,
        until: Until = None,
        recent_hours: int = 24,
        baseline_days: int = 28,
        min_account_age_days: int = 30,
        min_stars: int = 5,
        limit: int = 20,
    ) -> dict[str, Any]:
        call = checked(
            dashboards.trending_repositories,
            until or _now(),
            recent_hours=recent_hours,
            baseline_days=baseline_days,
            min_account_age_days=min_account_age_days,
            min_stars=min_stars,
            limit=limit,
        )
        return await run(engine, call)

    @app.get("/v1/actors/{login}/activity")
    async def actor_activity(
        login: str, engine: EngineDep, since: Since = None, until: Until = None, limit: int = 1000
    ) -> dict[str, Any]:
        call = checked(dashboards.actor_activity, login, *window(since, until), limit)
        return await run(engine, call)

    @app.get("/v1/active-actors")
    async def active_actors(
        engine: EngineDep, since: SinceDay = None, until: UntilDay = None
    ) -> dict[str, Any]:
        return await run(engine, checked(dashboards.active_actors, *days(since, until)))

    @app.get("/v1/pull-requests")
    async def pull_requests(
        engine: EngineDep, repo: str = "", since: SinceDay = None, until: UntilDay = None
    ) -> dict[str, Any]:
        call = checked(dashboards.pull_requests_daily, *days(since, until), repo)
        return await run(engine, call)

    @app.get("/v1/ingest/progress")
    async def ingest_progress(engine: EngineDep) -> dict[str, Any]:
        return await run(engine, NamedCall("ingest_progress", {}))

    @app.get("/v1/ingest/errors")
    async def ingest_errors(engine: EngineDep, limit: int = 100) -> dict[str, Any]:
        if not 1 <= limit <= 10_000:
            raise HTTPException(status_code=400, detail="limit must be 1..10000")
        return await run(engine, NamedCall("ingest_errors", {"limit": limit, "raw_chars": 2000}))

    @app.post("/v1/sql")
    async def sql(
        _token: TokenDep, engine: EngineDep, body: Annotated[SqlRequest, Body()]
    ) -> dict[str, Any]:
        limits = ReadOnlyLimits(max_rows=body.max_rows, max_seconds=body.max_seconds)
        try:
            result = await run_in_threadpool(
                engine.read_only, body.sql, limits.capped_by(DEFAULT_LIMITS)
            )
        except InvalidInputError as exc:
            sql_refused.inc()
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return asdict(result)

    @app.get("/v1/migrations")
    async def migrations(engine: EngineDep) -> dict[str, Any]:
        return {"migrations": await run_in_threadpool(migration_status, engine, settings)}

    @app.post("/v1/migrate")
    async def run_migrate(_token: TokenDep, engine: EngineDep) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            report = migrate(engine, settings, rewind=lambda: rewind_to_earliest(settings))
            engine.execute(f"USE {settings.warehouse.database}")
            return asdict(report)

        try:
            return await run_in_threadpool(work)
        except WarehouseError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    return app
