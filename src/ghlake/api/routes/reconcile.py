"""``/v1/reconcile``: per-hour counts of the ledger, the lake and the warehouse."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from ghlake.api.deps import PlatformDep
from ghlake.api.problems import problems
from ghlake.errors import InvalidInputError
from ghlake.hours import Hour

__all__ = ["router"]

router = APIRouter(prefix="/v1/reconcile", tags=["reconcile"], responses=problems(422, 503))


class HourCountsOut(BaseModel):
    """One hour seen from each stage."""

    hour: str
    published: int
    lake: int
    warehouse: int
    reconciled: bool


class ReconcileOut(BaseModel):
    """The hours of a range and those that differ."""

    hours: list[HourCountsOut]
    differing: list[str]


@router.get("")
async def reconcile(
    platform: PlatformDep,
    first: Annotated[str, Query(alias="from", examples=["2015-01-01-0"])],
    to: Annotated[str, Query(examples=["2015-01-01-23"])],
) -> ReconcileOut:
    """Compare what the ledger says was published with the lake and the warehouse, hour by hour."""
    start, end = Hour.parse(first), Hour.parse(to)
    if end < start:
        raise InvalidInputError(f"range {start}..{end} is reversed")
    counts = await run_in_threadpool(platform.reconciler.reconcile, start, end)
    hours = [
        HourCountsOut(hour=c.hour.name, published=c.published, lake=c.lake, warehouse=c.warehouse,
                      reconciled=c.reconciled)
        for c in counts
    ]  # fmt: skip
    return ReconcileOut(hours=hours, differing=[h.hour for h in hours if not h.reconciled])
