"""Topic replays in the ledger: what each was asked, how far it is, what it changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from ghlake.ledger.status import JobStatus
from ghlake.ledger.store import FINISHED_JOB_STATES, Ledger, _now, _record
from ghlake.ledger.tables import topic_replays

__all__ = ["TopicReplayLog", "TopicReplayRecord"]


@dataclass(frozen=True)
class TopicReplayRecord:
    """One topic replay."""

    id: str
    status: JobStatus
    store: str  # lake, warehouse or both
    from_time: datetime
    to_time: datetime
    messages: int
    events: int
    lake_added: int
    lake_present: int
    warehouse_deleted: int
    warehouse_inserted: int
    days: list[str]
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """Whether the replay will do nothing more."""
        return self.status.finished


class TopicReplayLog:
    """The ledger's table of topic replays."""

    def __init__(self, ledger: Ledger) -> None:
        self.engine = ledger.engine

    def create(self, store: str, from_time: datetime, to_time: datetime) -> TopicReplayRecord:
        """A new queued replay."""
        now = _now()
        replay_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(
                insert(topic_replays).values(
                    id=replay_id, status=JobStatus.QUEUED, store=store, from_time=from_time,
                    to_time=to_time, days=[], created_at=now, updated_at=now,
                )
            )  # fmt: skip
        record = self.get(replay_id)
        assert record is not None
        return record

    def get(self, replay_id: str) -> TopicReplayRecord | None:
        """One replay."""
        query = select(topic_replays).where(topic_replays.c.id == replay_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _record(TopicReplayRecord, row, JobStatus) if row else None

    def latest(self, limit: int = 100) -> list[TopicReplayRecord]:
        """The latest replays, newest first."""
        query = select(topic_replays).order_by(topic_replays.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings()
            return [_record(TopicReplayRecord, row, JobStatus) for row in rows]

    def unfinished(self) -> list[TopicReplayRecord]:
        """Replays a restarted API must run again, oldest first."""
        query = (
            select(topic_replays)
            .where(topic_replays.c.status.not_in(FINISHED_JOB_STATES))
            .order_by(topic_replays.c.created_at)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings()
            return [_record(TopicReplayRecord, row, JobStatus) for row in rows]

    def update(self, replay_id: str, **values: Any) -> None:
        """Change a replay's status, progress or outcome."""
        with self.engine.begin() as conn:
            conn.execute(
                update(topic_replays)
                .where(topic_replays.c.id == replay_id)
                .values(updated_at=_now(), **values)
            )
