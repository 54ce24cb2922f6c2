"""``/v1/lag``: every consumer group's lag and status, from the API's lag monitor.

The monitor samples the broker in the API process every ``GHLAKE_LAG__INTERVAL_SECONDS``;
these routes read its latest report (they never sample themselves), so any number of
readers costs the broker nothing more.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from ghlake.api.deps import PlatformDep
from ghlake.api.problems import problems
from ghlake.errors import GhLakeError
from ghlake.lag.monitor import LagMonitor

__all__ = ["router"]

router = APIRouter(prefix="/v1/lag", tags=["lag"])

StatusName = Literal["OK", "WARN", "ERR", "STOP", "STALL", "REWIND"]


class PartitionLagOut(BaseModel):
    """One partition: committed offset (null: never committed), log end, lag, status."""

    partition: int
    committed: int | None
    end: int
    lag: int
    lag_seconds: float | None
    lag_seconds_method: Literal["record", "interpolated"] | None
    catch_up_seconds: float | None
    member: str | None
    status: StatusName


class GroupLagOut(BaseModel):
    """One group on one topic, with its partitions."""

    group: str
    topic: str
    status: StatusName
    lag: int
    lag_seconds: float | None
    members: int
    state: str
    active: bool
    partitions: list[PartitionLagOut]


class LagOut(BaseModel):
    """Every listed group as of ``at`` (Unix seconds); ``error`` when the last sample failed."""

    at: float
    groups: list[GroupLagOut]
    error: str | None = None
    # The warehouse's Kafka engine consumers as ClickHouse reports them
    # (system.kafka_consumers), to set beside the broker's view of its group.
    kafka_engine: list[dict[str, Any]] | None = None
    kafka_engine_error: str | None = None


def _monitor(request: Request) -> LagMonitor:
    monitor: LagMonitor = request.app.state.lag_monitor
    return monitor


async def _kafka_engine(platform: PlatformDep) -> tuple[list[dict[str, Any]] | None, str | None]:
    try:
        return await run_in_threadpool(platform.kafka_engine_consumers), None
    except GhLakeError as exc:
        return None, str(exc)


@router.get("")
async def lag(request: Request, platform: PlatformDep) -> LagOut:
    """Every consumer group on the broker, with the Kafka engine's own view beside it."""
    report = _monitor(request).report
    engine, engine_error = await _kafka_engine(platform)
    return LagOut.model_validate(
        {**report.as_json(), "kafka_engine": engine, "kafka_engine_error": engine_error}
    )


@router.get("/{group}", responses=problems(404))
async def group_lag(request: Request, group: str) -> LagOut:
    """One group (an entry per topic it reads); 404 when the monitor does not list it."""
    report = _monitor(request).report
    entries = report.group(group)
    if not entries:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no consumer group {group!r} is listed")
    return LagOut(
        at=report.at,
        groups=[GroupLagOut.model_validate(g.as_json()) for g in entries],
        error=report.error,
    )
