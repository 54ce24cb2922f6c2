"""The warehouse service: the one process that owns the chDB engine.

chDB allows one process per data path, so this service opens the engine,
applies the DDL (which starts the Kafka engine consuming the events topic in
the background) and answers named queries over HTTP for every other process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.settings import Settings
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.schema import apply_schema, named_query

__all__ = ["create_warehouse_app"]

log = logging.getLogger(__name__)


def create_warehouse_app(settings: Settings) -> FastAPI:
    """The warehouse service's HTTP app for ``settings``."""
    registry = CollectorRegistry()
    rows_gauge = Gauge(
        "ghlake_warehouse_rows", "Rows per warehouse table", ["table"], registry=registry
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = ChdbEngine(settings.state_dir / "warehouse" / "chdb")
        applied = apply_schema(engine, settings)
        log.info("warehouse schema applied", extra={"files": applied})
        app.state.engine = engine
        try:
            yield
        finally:
            engine.close()

    app = FastAPI(title="ghlake warehouse service", lifespan=lifespan)

    def engine_of(request: Request) -> ChdbEngine:
        engine: ChdbEngine = request.app.state.engine
        return engine

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        rows = await run_in_threadpool(engine_of(request).rows, named_query("table_rows"))
        return {"status": "ok", "tables": rows[0]}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> str:
        rows = await run_in_threadpool(engine_of(request).rows, named_query("table_rows"))
        for table, count in rows[0].items():
            rows_gauge.labels(table).set(float(count))
        return generate_latest(registry).decode()

    @app.post("/v1/queries/{name}")
    async def run_named(
        name: str,
        request: Request,
        params: Annotated[dict[str, Any], Body(embed=True)],
    ) -> dict[str, Any]:
        try:
            sql = named_query(name)
            rows = await run_in_threadpool(engine_of(request).rows, sql, params)
        except InvalidInputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        except WarehouseError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"rows": rows}

    return app
