"""The warehouse's queries through the public API.

The warehouse service (the one process that owns chDB) answers these on
loopback; the public API is the front door and forwards them unchanged:
query string, body and ``Authorization`` (``/v1/sql`` needs the token, checked
by the service). Their parameters are documented by the service's own OpenAPI
(``ghlake warehouse serve``, ``/docs``).
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response

__all__ = ["router"]

router = APIRouter(tags=["warehouse"])

# (method, path, what it answers)
ROUTES = (
    ("GET", "/v1/event-types", "event counts per type over a window (since, until)"),
    ("GET", "/v1/events-per-minute", "events per minute by type over a window"),
    ("GET", "/v1/top-repositories", "top repositories by stars, forks, pull_requests or pushes"),
    ("GET", "/v1/repositories/{owner}/{name}/activity", "one repository's activity per day"),
    (
        "GET",
        "/v1/trending",
        "recent stars against each repository's baseline, new accounts guarded",
    ),
    ("GET", "/v1/actors/{login}/activity", "one actor's events over a window"),
    ("GET", "/v1/active-actors", "distinct active actors per day"),
    ("GET", "/v1/pull-requests", "pull requests opened and merged per day"),
    ("GET", "/v1/ingest/progress", "the Kafka engine's committed offsets per partition"),
    ("GET", "/v1/ingest/errors", "the latest messages the warehouse could not ingest"),
    ("POST", "/v1/sql", "read-only SQL with row and time limits (token required)"),
    ("GET", "/v1/migrations", "applied and pending schema migrations"),
)


async def _forward(request: Request) -> Response:
    url = request.app.state.platform.settings.warehouse.url + request.url.path
    headers = {
        k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")
    }
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.request(
                request.method, url, params=request.query_params, headers=headers,
                content=await request.body(),
            )  # fmt: skip
    except httpx.TransportError as exc:
        return Response(f'{{"detail": "the warehouse does not answer: {type(exc).__name__}"}}',
                        status_code=503, media_type="application/json")  # fmt: skip
    return Response(
        answer.content, answer.status_code, media_type=answer.headers.get("content-type")
    )


for _method, _path, _summary in ROUTES:
    router.add_api_route(_path, _forward, methods=[_method], summary=_summary)
