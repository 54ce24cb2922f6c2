"""The warehouse service's HTTP edge: the one process that owns the chDB engine answers here.

chDB allows one process per data path, so this service opens the engine through
:class:`ghlake.warehouse.service.WarehouseService` (from the Platform; it migrates the schema and so
starts the Kafka engine consuming the events topic) and answers for every other process.
One router per resource:

- ``routes/queries.py``: a GET route per catalogue entry with a path
  (:mod:`ghlake.warehouse.queries`: ``/v1/event-types``, ``/v1/top-repositories``,
  ``/v1/ingest/errors`` ...) and ``POST /v1/queries/{name}`` (any named query)
- ``routes/sql.py``: ``POST /v1/sql``, read-only SQL (token required; read-only mode
  and limits applied by the engine, see :mod:`ghlake.warehouse.readonly`)
- ``routes/admin.py``: ``/healthz``, ``/metrics``, ``GET /v1/migrations``,
  ``POST /v1/migrate`` (token required)

Errors answer by kind: bad input 400, a statement the engine refused 422, transient 503.

The same process serves ClickHouse's HTTP interface on ``settings.warehouse.http_port``
(:mod:`ghlake.warehouse_api.clickhouse`): :func:`create_warehouse_asgi` sends each
connection to the app of the port it arrived on, so one uvicorn server with two sockets
holds one engine.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ghlake.errors import GhLakeError, WarehouseError, http_status
from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.warehouse.service import WarehouseService
from ghlake.warehouse.wire import ClickHouseError
from ghlake.warehouse_api.clickhouse import create_clickhouse_app
from ghlake.warehouse_api.deps import Metrics
from ghlake.warehouse_api.routes import admin, queries, sql

__all__ = ["create_warehouse_app", "create_warehouse_asgi"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)


def create_warehouse_app(settings: Settings) -> FastAPI:
    """The warehouse service's HTTP app for ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Platform(settings).warehouse_service()
        try:
            log.info("warehouse schema migrated: %s", service.migrate())
            app.state.service = service
            yield
        finally:
            service.close()

    app = FastAPI(title="ghlake warehouse service", lifespan=lifespan)
    app.state.settings, app.state.metrics = settings, Metrics()

    @app.exception_handler(GhLakeError)
    async def known_error(request: Request, exc: GhLakeError) -> JSONResponse:
        # A statement the engine refused is the caller's to change, unlike a malformed value.
        status = 422 if isinstance(exc, WarehouseError) else http_status(exc, invalid=400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    app.include_router(admin.router)
    app.include_router(queries.router)
    app.include_router(sql.router)
    return app


def create_warehouse_asgi(settings: Settings) -> ASGIApp:
    """The service's JSON routes and, on ``warehouse.http_port``, ClickHouse's HTTP interface.

    Lifespan events (opening the engine) go to the JSON app; a request goes to the app
    of the port it arrived on (``scope["server"]``).
    """
    app = create_warehouse_app(settings)

    def service() -> WarehouseService:
        found: WarehouseService | None = getattr(app.state, "service", None)
        if found is None:
            raise ClickHouseError(1002, "the warehouse service is starting; retry")
        return found

    clickhouse = create_clickhouse_app(settings, service, app.state.metrics)
    port = settings.warehouse.http_port

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "lifespan" and server is not None and server[1] == port:
            await clickhouse(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch
