"""``/v1/replays``: start, follow and cancel replays of GH Archive ranges."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ghlake.api.deps import JobsDep, PlatformDep, TokenDep
from ghlake.api.problems import problems
from ghlake.errors import InvalidInputError
from ghlake.hours import Hour
from ghlake.ingest.jobs import ReplayRequest
from ghlake.ledger import JobRecord

__all__ = ["router"]

router = APIRouter(prefix="/v1/replays", tags=["replays"], responses=problems(401, 404, 422, 503))


class ReplayIn(BaseModel):
    """A replay to start."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    first: Annotated[str, Field(alias="from", examples=["2015-01-01-0"])]
    to: Annotated[str, Field(examples=["2015-01-01-23"])]
    source: str | None = Field(
        None, description="folder or mirror URL; default the configured mirror"
    )
    speed: float | None = Field(None, gt=0, le=10_000, description="N times real time; none = max")
    force: bool = Field(False, description="publish hours the ledger says are published")

    @field_validator("first", "to")
    @classmethod
    def _hour(cls, value: str) -> str:
        return Hour.parse(value).name


class ReplayOut(BaseModel):
    """A replay job and its progress."""

    id: str
    status: str
    source: str
    first: str = Field(serialization_alias="from")
    to: str
    speed: float | None
    force: bool
    hours_total: int
    hours_done: int
    published: int
    dead_lettered: int
    current_hour: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, job: JobRecord) -> ReplayOut:
        """The API's view of a ledger job."""
        values = {field.name: getattr(job, field.name) for field in fields(job)}
        first, last = values.pop("first_hour"), values.pop("last_hour")
        current = values.pop("current_hour")
        return cls(**values, first=first.name, to=last.name,
                   current_hour=current.name if current else None)  # fmt: skip


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model_by_alias=True)
def start_replay(body: ReplayIn, jobs: JobsDep, platform: PlatformDep, _: TokenDep) -> ReplayOut:
    """Queue a replay of the hours ``from``..``to`` (UTC, GH Archive names)."""
    request = ReplayRequest(
        Hour.parse(body.first), Hour.parse(body.to),
        body.source or platform.settings.replay.mirror, body.speed, body.force,
    )  # fmt: skip
    try:
        request.validate(platform.settings.api.max_hours_per_request)
    except InvalidInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    return ReplayOut.of(jobs.submit(request))


@router.get("", response_model_by_alias=True)
def list_replays(platform: PlatformDep, limit: int = 100) -> list[ReplayOut]:
    """The latest replay jobs, newest first."""
    return [ReplayOut.of(job) for job in platform.ledger.jobs(min(max(limit, 1), 1000))]


@router.get("/{job_id}", response_model_by_alias=True)
def get_replay(job_id: str, platform: PlatformDep) -> ReplayOut:
    """One job: status, hours done, events published and dead-lettered, errors."""
    job = platform.ledger.job(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no replay job {job_id}")
    return ReplayOut.of(job)


@router.delete("/{job_id}", response_model_by_alias=True)
def cancel_replay(job_id: str, jobs: JobsDep, _: TokenDep) -> ReplayOut:
    """Cancel a queued or running job; what was published stays published."""
    job = jobs.cancel(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no replay job {job_id}")
    return ReplayOut.of(job)
