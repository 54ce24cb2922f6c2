"""The warehouse's queries through the public API.

The warehouse service (the one process that owns chDB) answers these on
loopback; the public API is the front door and forwards them unchanged:
query string, body and ``Authorization`` (``/v1/sql`` needs the token, checked
by the service). The query routes come from the warehouse's query catalogue
(:data:`ghlake.warehouse.queries.CATALOGUE`), which also documents their
parameters here; the service checks them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response

from ghlake.warehouse.queries import CATALOGUE, Default, Param

__all__ = ["OTHER_ROUTES", "ROUTES", "router"]

router = APIRouter(tags=["warehouse"])

# The forwarded routes that are not catalogue queries: (method, path, what it answers).
OTHER_ROUTES = (
    ("POST", "/v1/sql", "read-only SQL with row and time limits (token required)"),
    ("GET", "/v1/migrations", "applied and pending schema migrations"),
)
# Every forwarded route: each catalogue query with a path, then the others.
ROUTES = (
    *(("GET", q.path, q.summary) for q in CATALOGUE.values() if q.path is not None),
    *OTHER_ROUTES,
)

_SCHEMAS: dict[type, dict[str, str]] = {
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
    int: {"type": "integer"},
    str: {"type": "string"},
}


def _documented(param: Param) -> dict[str, Any]:
    """An OpenAPI parameter object for a catalogue parameter."""
    schema: dict[str, Any] = dict(_SCHEMAS[param.type])
    if not param.required and not isinstance(param.default, Default):
        schema["default"] = param.default
    if param.bounds:
        schema["minimum"], schema["maximum"] = param.bounds
    return {
        "name": param.name, "in": "path" if param.in_path else "query",
        "required": param.required, "description": param.doc, "schema": schema,
    }  # fmt: skip


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


for _query in CATALOGUE.values():
    if _query.path is not None:
        router.add_api_route(
            _query.path, _forward, methods=["GET"], name=_query.name, summary=_query.summary,
            openapi_extra={"parameters": [_documented(p) for p in _query.params]},
        )  # fmt: skip
for _method, _path, _summary in OTHER_ROUTES:
    router.add_api_route(_path, _forward, methods=[_method], summary=_summary)
