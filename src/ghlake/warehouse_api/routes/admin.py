"""Health, metrics and schema migrations of the warehouse service."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_client import generate_latest
from pydantic import BaseModel, Field

from ghlake.warehouse.rows import HourStages
from ghlake.warehouse_api.deps import MetricsDep, ServiceDep, TokenDep

__all__ = ["router"]

router = APIRouter(tags=["admin"])


# A busy engine (every pooled connection in a slow query): health answers from the last count.
HEALTH_WAIT_SECONDS = 2.0


@router.get("/healthz", summary="the engine answers; rows per table")
async def healthz(request: Request, service: ServiceDep) -> dict[str, Any]:
    """Whether the engine answers, with the rows of each warehouse table.

    The process answers even while the engine is busy with a slow query (chDB runs one
    at a time): after a short wait the last counts come back with ``"busy": true``.
    """
    state = request.app.state
    count = asyncio.ensure_future(run_in_threadpool(service.table_rows))
    try:
        tables = await asyncio.wait_for(asyncio.shield(count), HEALTH_WAIT_SECONDS)
    except TimeoutError:
        return {"status": "ok", "busy": True, "tables": getattr(state, "last_tables", {})}
    state.last_tables = tables
    return {"status": "ok", "busy": False, "tables": tables}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics(service: ServiceDep, metrics: MetricsDep) -> str:
    """Rows per table and refused SQL queries, in Prometheus' text format."""
    for table, count in (await run_in_threadpool(service.table_rows)).items():
        metrics.rows.labels(table).set(float(count))
    return generate_latest(metrics.registry).decode()


@router.get("/v1/migrations", summary="applied and pending schema migrations")
async def migrations(service: ServiceDep) -> dict[str, Any]:
    """Every migration with its applied time (null when pending)."""
    return {"migrations": await run_in_threadpool(service.migrations)}


@router.post("/v1/migrate", summary="apply pending migrations (token required)")
async def migrate(_token: TokenDep, service: ServiceDep) -> dict[str, Any]:
    """Apply pending migrations and (re)start the Kafka pipeline; what was done."""
    return asdict(await run_in_threadpool(service.migrate))


class HourStagesIn(BaseModel):
    """One hour of a reconciliation, as the reconciler sends it."""

    hour: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}-\d{1,2}$", examples=["2015-01-01-15"])
    hour_start: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", examples=["2015-01-01 15:00:00"]
    )
    published: int = Field(ge=0, lt=2**63)
    lake: int = Field(ge=0, lt=2**63)
    warehouse: int = Field(ge=0, lt=2**63)


class HourStagesBody(BaseModel):
    """A reconciliation's counts, one entry per hour."""

    stages: list[HourStagesIn] = Field(max_length=10_000)


@router.post("/v1/hour-stages", summary="record a reconciliation's counts (token required)")
async def record_hour_stages(
    body: HourStagesBody, _token: TokenDep, service: ServiceDep
) -> dict[str, int]:
    """Store each hour's published, lake and warehouse counts for the dashboards."""
    stages = [HourStages(**stage.model_dump()) for stage in body.stages]
    return {"recorded": await run_in_threadpool(service.record_hour_stages, stages)}


class OptimizeRequest(BaseModel):
    """The months (YYYYMM) to merge, e.g. those a backfill touched."""

    months: list[int]


@router.post("/v1/optimize", summary="OPTIMIZE ... FINAL of some months (token required)")
async def optimize(_token: TokenDep, body: OptimizeRequest, service: ServiceDep) -> dict[str, Any]:
    """Merge the given months of ``github_events`` and of the aggregate tables; what ran."""
    return {"statements": await run_in_threadpool(service.optimize, body.months)}
