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
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ghlake.errors import GhLakeError, WarehouseError, http_status
from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.warehouse_api.deps import Metrics
from ghlake.warehouse_api.routes import admin, queries, sql

__all__ = ["create_warehouse_app"]

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
