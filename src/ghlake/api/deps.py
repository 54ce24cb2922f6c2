"""Dependencies of the API's routes, as named ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ghlake.ingest.jobs import ReplayJobs
from ghlake.ingest.topic_replay import TopicReplayJobs
from ghlake.platform import Platform

__all__ = ["JobsDep", "PlatformDep", "TokenDep", "TopicReplaysDep"]

_bearer = HTTPBearer(auto_error=False, description="GHLAKE_API__TOKEN")


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _jobs(request: Request) -> ReplayJobs:
    jobs: ReplayJobs = request.app.state.jobs
    return jobs


def _token(
    platform: Annotated[Platform, Depends(_platform)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    given = credentials.credentials if credentials is not None else None
    if not platform.settings.accepts_token(given):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this endpoint needs 'Authorization: Bearer <GHLAKE_API__TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


PlatformDep = Annotated[Platform, Depends(_platform)]
JobsDep = Annotated[ReplayJobs, Depends(_jobs)]
TokenDep = Annotated[None, Depends(_token)]


def _topic_replays(request: Request) -> TopicReplayJobs:
    replays: TopicReplayJobs = request.app.state.topic_replays
    return replays


TopicReplaysDep = Annotated[TopicReplayJobs, Depends(_topic_replays)]
