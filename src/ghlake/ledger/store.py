"""The ledger through SQLAlchemy: SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Engine, RowMapping, create_engine, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from ghlake.errors import ServiceError
from ghlake.hours import Hour
from ghlake.ledger.status import HourStatus, JobStatus
from ghlake.ledger.tables import hours, jobs, metadata, polls

__all__ = ["HourRecord", "JobRecord", "Ledger", "PollRecord"]

FINISHED_JOB_STATES = tuple(s.value for s in JobStatus if s.finished)
_T = TypeVar("_T")


def _utc(value: Any) -> Any:
    # SQLite hands back naive datetimes; everything in the ledger is UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HourRecord:
    """The ledger's row for one GH Archive hour."""

    hour: Hour
    hour_start: datetime
    status: HourStatus
    source: str
    lines: int
    valid: int
    recovered: int
    dead_lettered: int
    duplicates: int
    bytes: int
    raw_bytes: int
    sha256: str
    offsets: dict[str, list[int]]
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float
    error: str | None

    @property
    def published(self) -> int:
        """Events on the topic from this hour."""
        return self.valid + self.recovered


@dataclass(frozen=True)
class PollRecord:
    """One poll of the live Events API."""

    window_start: datetime
    window_end: datetime
    pages: int
    not_modified: int
    received: int
    new: int
    duplicates: int
    published: int
    rate_remaining: int | None


@dataclass(frozen=True)
class JobRecord:
    """A replay job started through the API."""

    id: str
    status: JobStatus
    source: str
    first_hour: Hour
    last_hour: Hour
    speed: float | None
    force: int
    hours_total: int
    hours_done: int
    published: int
    dead_lettered: int
    current_hour: Hour | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """Whether the job will do nothing more."""
        return self.status.finished


# Columns the ledger stores as text that code carries as types.
_TYPED: dict[str, Any] = {
    "hour": Hour.parse,
    "first_hour": Hour.parse,
    "last_hour": Hour.parse,
    "current_hour": Hour.parse,
}


def _record(kind: type[_T], row: RowMapping, status: type[StrEnum]) -> _T:
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    values = {k: _utc(v) for k, v in row.items() if k in names}
    for name, parse in _TYPED.items():
        if values.get(name) is not None:
            values[name] = parse(values[name])
    if "status" in values:
        values["status"] = status(values["status"])
    return kind(**values)


class Ledger:
    """The ledger database."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        try:
            self.engine = engine or create_engine(url, pool_pre_ping=True)
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise ServiceError(f"cannot open the ledger at {self._safe_url()}: {exc}") from exc

    def _safe_url(self) -> str:
        return (
            self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else "?"
        )

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # hours

    def hour(self, hour: Hour | str) -> HourRecord | None:
        """The row of one hour, if any."""
        with self.engine.connect() as conn:
            query = select(hours).where(hours.c.hour == str(hour))
            row = conn.execute(query).mappings().first()
        return _record(HourRecord, row, HourStatus) if row else None

    def hours(self, first: Hour, last: Hour) -> list[HourRecord]:
        """Rows of the hours from ``first`` to ``last``, in time order."""
        query = (
            select(hours)
            .where(hours.c.hour_start >= first.start, hours.c.hour_start <= last.start)
            .order_by(hours.c.hour_start)
        )
        with self.engine.connect() as conn:
            return [_record(HourRecord, row, HourStatus) for row in conn.execute(query).mappings()]

    def recent_hours(self, limit: int = 24) -> list[HourRecord]:
        """The ``limit`` hours begun most recently, the latest first."""
        query = select(hours).order_by(hours.c.started_at.desc(), hours.c.hour_start.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).mappings()
            return [_record(HourRecord, row, HourStatus) for row in rows]

    def _upsert_hour(self, hour: Hour, values: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            exists = conn.execute(select(hours.c.hour).where(hours.c.hour == hour.name)).first()
            if exists:
                conn.execute(update(hours).where(hours.c.hour == hour.name).values(**values))
            else:
                conn.execute(insert(hours).values(hour=hour.name, hour_start=hour.start, **values))

    def begin_hour(self, hour: Hour, source: str) -> None:
        """Record that publishing ``hour`` starts (its start time locates its messages later)."""
        previous = self.hour(hour.name)
        self._upsert_hour(
            hour,
            {
                "status": HourStatus.PUBLISHING,
                "source": source,
                "attempts": (previous.attempts if previous else 0) + 1,
                "started_at": _now(),
                "finished_at": None,
                "error": None,
            },
        )

    def finish_hour(self, hour: Hour, status: HourStatus, **values: Any) -> None:
        """Record the outcome of an hour (counts, checksum, offsets, error)."""
        if "offsets" in values:
            values["offsets"] = {str(p): list(r) for p, r in values["offsets"].items()}
        self._upsert_hour(hour, {"status": status, "finished_at": _now(), **values})

    def published_counts(self, wanted: Collection[Hour | str]) -> dict[Hour, int]:
        """Events published per hour, for reconciliation."""
        query = select(hours.c.hour, hours.c.valid + hours.c.recovered).where(
            hours.c.hour.in_([str(hour) for hour in wanted])
        )
        with self.engine.connect() as conn:
            return {Hour.parse(name): int(count) for name, count in conn.execute(query)}

    # polls

    def record_poll(self, record: PollRecord) -> None:
        """Append one poll window."""
        with self.engine.begin() as conn:
            conn.execute(insert(polls).values(**record.__dict__))

    def polls(self, limit: int = 100) -> list[PollRecord]:
        """The latest poll windows, newest first."""
        query = select(polls).order_by(polls.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_record(PollRecord, row, HourStatus) for row in conn.execute(query).mappings()]

    # jobs

    def create_job(
        self,
        source: str,
        first: Hour,
        last: Hour,
        *,
        speed: float | None,
        force: bool,
    ) -> JobRecord:
        """A new queued replay job."""
        now = _now()
        job_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(
                insert(jobs).values(
                    id=job_id, status=JobStatus.QUEUED, source=source, first_hour=first.name,
                    last_hour=last.name, speed=speed, force=int(force),
                    hours_total=int((last.start - first.start).total_seconds() // 3600) + 1,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
        job = self.job(job_id)
        assert job is not None
        return job

    def job(self, job_id: str) -> JobRecord | None:
        """One job."""
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _record(JobRecord, row, JobStatus) if row else None

    def jobs(self, limit: int = 100) -> list[JobRecord]:
        """The latest jobs, newest first."""
        query = select(jobs).order_by(jobs.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_record(JobRecord, row, JobStatus) for row in conn.execute(query).mappings()]

    def unfinished_jobs(self) -> list[JobRecord]:
        """Jobs a restarted API must resume, oldest first."""
        query = (
            select(jobs)
            .where(jobs.c.status.not_in(FINISHED_JOB_STATES))
            .order_by(jobs.c.created_at)
        )
        with self.engine.connect() as conn:
            return [_record(JobRecord, row, JobStatus) for row in conn.execute(query).mappings()]

    def update_job(self, job_id: str, **values: Any) -> None:
        """Change a job's status or progress (hours are stored by name)."""
        if isinstance(values.get("current_hour"), Hour):
            values["current_hour"] = values["current_hour"].name
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == job_id).values(updated_at=_now(), **values)
            )

    def count_hours(self, status: HourStatus) -> int:
        """How many hours have ``status``."""
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(hours).where(hours.c.status == status)
            return int(conn.execute(query).scalar_one())
