"""``/v1/topic-replays``: rebuild the lake, the warehouse, or both, from a range of the topic."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from ghlake.api.deps import PlatformDep, TokenDep, TopicReplaysDep
from ghlake.api.problems import problems
from ghlake.errors import InvalidInputError
from ghlake.ingest.topic_replay import Store, TopicReplayRequest
from ghlake.ledger.topic_replays import TopicReplayRecord

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/topic-replays", tags=["topic replays"], responses=problems(401, 404, 422, 503)
)


class TopicReplayIn(BaseModel):
    """A topic replay to start: which store, which stretch of the topic (producer times)."""

    model_config = ConfigDict(extra="forbid")

    store: Store
    from_time: Annotated[datetime, Field(examples=["2026-12-01T00:00:00Z"])]
    to_time: Annotated[
        datetime, Field(examples=["2026-12-02T00:00:00Z"], description="exclusive; no zone: UTC")
    ]


class TopicReplayOut(BaseModel):
    """A topic replay, its progress and what it changed."""

    id: str
    status: str
    store: str
    from_time: datetime
    to_time: datetime
    messages: int = Field(description="messages of the range on the topic")
    events: int = Field(description="messages read from the range so far (per store rebuilt)")
    lake_added: int = Field(description="events the lake did not hold, appended")
    lake_present: int = Field(description="events the lake held already, not appended again")
    warehouse_deleted: int = Field(description="the range's rows the warehouse held before")
    warehouse_inserted: int = Field(description="the range's rows written again")
    days: list[str] = Field(description="days whose warehouse aggregates were rebuilt")
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: TopicReplayRecord) -> TopicReplayOut:
        """The API's view of a ledger record."""
        return cls(**asdict(record))


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def start_topic_replay(
    body: TopicReplayIn, replays: TopicReplaysDep, _: TokenDep
) -> TopicReplayOut:
    """Queue a rebuild of ``store`` from the topic's messages of ``[from_time, to_time)``.

    Refused (422) when the topic no longer holds the range's start (retention), naming
    the earliest time it holds.
    """
    try:
        request = TopicReplayRequest(body.store, body.from_time, body.to_time)
        return TopicReplayOut.of(replays.submit(request))
    except InvalidInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc


@router.get("")
def list_topic_replays(platform: PlatformDep, limit: int = 100) -> list[TopicReplayOut]:
    """The latest topic replays, newest first."""
    records = platform.topic_replays.latest(min(max(limit, 1), 1000))
    return [TopicReplayOut.of(record) for record in records]


@router.get("/{replay_id}")
def get_topic_replay(replay_id: str, platform: PlatformDep) -> TopicReplayOut:
    """One topic replay: status, events read, what the lake and the warehouse got."""
    record = platform.topic_replays.get(replay_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no topic replay {replay_id}")
    return TopicReplayOut.of(record)
