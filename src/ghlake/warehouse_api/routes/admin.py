"""Health, metrics and schema migrations of the warehouse service."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_client import generate_latest

from ghlake.warehouse_api.deps import MetricsDep, ServiceDep, TokenDep

__all__ = ["router"]

router = APIRouter(tags=["admin"])


@router.get("/healthz", summary="the engine answers; rows per table")
async def healthz(service: ServiceDep) -> dict[str, Any]:
    """Whether the engine answers, with the rows of each warehouse table."""
    return {"status": "ok", "tables": await run_in_threadpool(service.table_rows)}


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
