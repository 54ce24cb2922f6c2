"""The public HTTP API: replays, archive ranges, health and metrics.

``create_app(settings)`` builds the app; ``ghlake api serve`` runs it. Write
endpoints need ``Authorization: Bearer <GHLAKE_API__TOKEN>``. Replay jobs run
in a background thread and are kept in the ledger, so they survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ghlake import __version__
from ghlake.api.live import LiveFeed, Snapshots
from ghlake.api.routes import archive, health, lag, live, reconcile, replays, warehouse
from ghlake.api.routes import topic_replays as topic_replay_routes
from ghlake.errors import GhLakeError, http_status
from ghlake.lag.metrics import LagCollector
from ghlake.platform import Platform
from ghlake.settings import Settings

__all__ = ["create_app"]


@asynccontextmanager
async def _watching(
    app: FastAPI, platform: Platform, registry: CollectorRegistry
) -> AsyncIterator[None]:
    """The lag monitor (sampling in the background, exported as metrics) and the live
    page's one feed loop, for the app's lifetime."""
    app.state.lag_monitor = monitor = platform.lag_monitor()
    collector = LagCollector(lambda: monitor.report)
    registry.register(collector)
    monitor.start(platform.settings.lag.interval_seconds)
    broker = platform.broker_offsets()
    app.state.live_feed = feed = LiveFeed(Snapshots(platform, monitor, broker).collect)
    feeding = asyncio.create_task(feed.run())
    try:
        yield
    finally:
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeding
        broker.close()
        monitor.close()
        registry.unregister(collector)


def create_app(settings: Settings) -> FastAPI:
    """The API for ``settings``."""
    registry = CollectorRegistry()
    requests = Counter(
        "ghlake_api_requests", "HTTP requests", ["route", "status"], registry=registry
    )
    latency = Histogram(
        "ghlake_api_request_seconds", "Request latency", ["route"], registry=registry
    )
    gauges = {
        "hours": Gauge(
            "ghlake_ledger_hour_records",
            "Hours recorded in the ledger, by status",
            ["status"],
            registry=registry,
        ),
        "jobs": Gauge("ghlake_replay_jobs", "Replay jobs by status", ["status"], registry=registry),
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = Platform(settings)
        jobs = platform.replay_jobs()
        app.state.platform, app.state.jobs = platform, jobs
        app.state.registry, app.state.gauges = registry, gauges
        jobs.start()
        app.state.topic_replays = topic_replays = platform.topic_replay_jobs()
        topic_replays.start()
        try:
            async with _watching(app, platform, registry):
                yield
        finally:
            jobs.stop()
            topic_replays.stop()
            platform.close()

    app = FastAPI(
        title="ghlake API",
        version=__version__,
        description="GitHub events through Kafka into a Delta table and a ClickHouse warehouse.",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        requests.labels(name, str(response.status_code)).inc()
        latency.labels(name).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(GhLakeError)
    async def known_error(request: Request, exc: GhLakeError) -> JSONResponse:
        # By kind: bad input 422 (as FastAPI's own validation), transient 503, the rest 500.
        return JSONResponse({"detail": str(exc)}, status_code=http_status(exc))

    app.include_router(health.router)
    app.include_router(replays.router)
    app.include_router(reconcile.router)
    app.include_router(warehouse.router)
    app.include_router(topic_replay_routes.router)
    app.include_router(lag.router)
    app.include_router(live.router)
    app.mount("/static/vendor/uplot", StaticFiles(directory=live.UPLOT, check_dir=False))
    app.mount("/static", StaticFiles(directory=live.STATIC / "page"))
    app.include_router(archive.router)  # last: its mirror route matches /{hour}.json.gz
    return app
