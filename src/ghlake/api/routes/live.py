"""The live page at ``/`` and its event stream ``/v1/live/stream`` (Server-Sent Events).

Neither is in the OpenAPI schema: the page is HTML, and the stream never ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from ghlake.api.live import LiveFeed

__all__ = ["STATIC", "UPLOT", "router"]

STATIC = Path(__file__).resolve().parents[1] / "static"
# Installed by scripts/install.sh (npm ci from static/package-lock.json), never a CDN.
UPLOT = STATIC / "node_modules" / "uplot" / "dist"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    """The live page."""
    return FileResponse(STATIC / "page" / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/v1/live/stream")
async def stream(
    request: Request,
    last_event_id: Annotated[int | None, Header()] = None,
    since: Annotated[int | None, Query(alias="last_event_id")] = None,
) -> StreamingResponse:
    """Snapshots as they are taken; ``Last-Event-ID`` (or ``?last_event_id=``) resumes."""
    feed: LiveFeed = request.app.state.live_feed
    return StreamingResponse(
        feed.stream(last_event_id if last_event_id is not None else since, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
