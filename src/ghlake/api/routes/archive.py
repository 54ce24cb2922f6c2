"""GH Archive ranges out of ghlake: ``/v1/archive`` and a GH-Archive-compatible mirror."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from ghlake.api.deps import PlatformDep
from ghlake.api.problems import problems
from ghlake.errors import InvalidInputError
from ghlake.hours import Hour
from ghlake.lake.export import gzip_stream, range_lines

__all__ = ["router"]

router = APIRouter(tags=["archive"])

_GZIP: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "gzip NDJSON, one GH Archive event a line",
        "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
    },
    **problems(404, 422, 503),
}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stream(
    platform: PlatformDep, start: datetime, end: datetime, filename: str, *, empty_is_404: bool,
    version: int | None = None,
) -> StreamingResponse:  # fmt: skip
    lines = range_lines(platform.lake_table, platform.store, start, end, version)
    first = next(lines, None)
    if first is None and empty_is_404:
        # As GH Archive does for an hour it does not have.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ghlake holds no events for {filename}")
    return StreamingResponse(
        gzip_stream(itertools.chain([] if first is None else [first], lines)),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/v1/archive", response_class=StreamingResponse, responses=_GZIP)
def archive(
    platform: PlatformDep,
    start: Annotated[datetime, Query(description="inclusive, ISO 8601; UTC without an offset")],
    end: Annotated[datetime, Query(description="exclusive, ISO 8601")],
    version: Annotated[int | None, Query(ge=0, description="read this table version")] = None,
    as_of: Annotated[
        datetime | None, Query(description="read the table version current at this time")
    ] = None,
) -> StreamingResponse:
    """The events created in ``[start, end)`` as gzip NDJSON, each event once.

    The lake's Delta table is read as of ``version`` or ``as_of`` when given (time travel).
    """
    start, end = _utc(start), _utc(end)
    if as_of is not None and version is None:
        version = platform.lake_table.snapshot(as_of=_utc(as_of)).version()
    if end <= start:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, f"end {end} is not after start {start}"
        )
    hours = (end - start).total_seconds() / 3600
    limit = platform.settings.api.max_hours_per_request
    if hours > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"the range spans {hours:.0f} hours; at most {limit}",
        )
    name = f"ghlake-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}.json.gz"
    return _stream(platform, start, end, name, empty_is_404=False, version=version)


@router.get("/{name}.json.gz", response_class=StreamingResponse, responses=_GZIP)
def mirror_hour(name: str, platform: PlatformDep) -> StreamingResponse:
    """One hour as GH Archive names it (``2015-01-01-15.json.gz``): events created in it (UTC)."""
    try:
        hour = Hour.parse(name)
    except InvalidInputError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if hour.name != name:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"GH Archive names this hour {hour.filename}"
        )
    return _stream(platform, hour.start, hour.end, hour.filename, empty_is_404=True)
