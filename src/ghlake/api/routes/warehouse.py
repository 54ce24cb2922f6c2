"""The warehouse's queries through the public API.

Each catalogue query with a path (:data:`ghlake.warehouse.queries.CATALOGUE`) is a thin
edge here: FastAPI parses the entry's typed parameters (documented in the OpenAPI schema,
path parameters included), the entry binds them, and the Platform's warehouse client runs
the named query through the warehouse's ClickHouse interface (clickhouse-connect), whose
parameters ClickHouse binds: a path parameter never becomes part of a URL again, so any
character in it is only a value. A value the entry refuses answers 400 with the reason.

``/v1/sql`` and ``/v1/migrations`` are forwarded to the warehouse service unchanged (query
string, body and ``Authorization``: ``/v1/sql`` needs the token, checked by the service).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from ghlake.api.deps import PlatformDep
from ghlake.api.problems import problems
from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.warehouse import queries
from ghlake.warehouse.queries import CATALOGUE
from ghlake.warehouse_api.routes.queries import signature

__all__ = ["OTHER_ROUTES", "ROUTES", "router"]

router = APIRouter(tags=["warehouse"])

# The forwarded routes that are not catalogue queries: (method, path, what it answers).
OTHER_ROUTES = (
    ("POST", "/v1/sql", "read-only SQL with row and time limits (token required)"),
    ("GET", "/v1/migrations", "applied and pending schema migrations"),
)
# Every warehouse route: each catalogue query with a path, then the others.
ROUTES = (
    *(("GET", q.path, q.summary) for q in CATALOGUE.values() if q.path is not None),
    *OTHER_ROUTES,
)


def _endpoint(query: queries.Query[Any]) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def endpoint(platform: PlatformDep, **values: Any) -> dict[str, Any]:
        try:
            bound = query.bind(**values)
        except InvalidInputError as exc:
            raise HTTPException(400, str(exc)) from exc
        try:
            rows = await run_in_threadpool(platform.warehouse.named, bound.name, bound.params)
        except WarehouseError as exc:  # the engine refused the values: the caller's to change
            raise HTTPException(422, str(exc)) from exc
        return {"rows": rows}

    endpoint.__signature__ = signature("platform", PlatformDep, query)  # type: ignore[attr-defined]
    return endpoint


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
            _query.path, _endpoint(_query), methods=["GET"], name=_query.name,
            summary=_query.summary, responses=problems(400, 422, 503),
        )  # fmt: skip
for _method, _path, _summary in OTHER_ROUTES:
    router.add_api_route(
        _path, _forward, methods=[_method], summary=_summary,
        responses=problems(400, 401, 422, 503) if _method == "POST" else problems(503),
    )  # fmt: skip
