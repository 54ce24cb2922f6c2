"""Read-only SQL: ClickHouse runs it in read-only mode within limits (token required)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ghlake.errors import InvalidInputError
from ghlake.warehouse.readonly import DEFAULT_LIMITS, ReadOnlyLimits
from ghlake.warehouse_api.deps import MetricsDep, ServiceDep, TokenDep

__all__ = ["SqlRequest", "router"]

router = APIRouter(tags=["sql"])


class SqlRequest(BaseModel):
    """A read-only SQL query and the limits the caller asks for (capped by the service's)."""

    sql: str = Field(min_length=1, max_length=100_000)
    max_rows: int = Field(DEFAULT_LIMITS.max_rows, ge=1, le=DEFAULT_LIMITS.max_rows)
    max_seconds: float = Field(DEFAULT_LIMITS.max_seconds, gt=0, le=DEFAULT_LIMITS.max_seconds)


@router.post("/v1/sql", summary="read-only SQL with row and time limits (token required)")
async def sql(
    _token: TokenDep, service: ServiceDep, metrics: MetricsDep, body: Annotated[SqlRequest, Body()]
) -> dict[str, Any]:
    """Columns, rows and whether the row limit cut them; a refused query answers 400."""
    limits = ReadOnlyLimits(max_rows=body.max_rows, max_seconds=body.max_seconds)
    try:
        result = await run_in_threadpool(service.read_only, body.sql, limits)
    except InvalidInputError:
        metrics.sql_refused.inc()
        raise
    return asdict(result)
