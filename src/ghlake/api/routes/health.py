"""``/healthz`` and ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest

from ghlake.api.deps import PlatformDep
from ghlake.api.problems import problems
from ghlake.ledger import HourStatus, JobStatus
from ghlake.platform import Platform

__all__ = ["router"]

router = APIRouter(tags=["health"], responses=problems(503))


def _components(platform: Platform) -> dict[str, bool]:
    from ghlake.services.kafka_broker import broker_healthy  # noqa: PLC0415

    def ledger_ok() -> bool:
        platform.ledger.count_hours(HourStatus.PUBLISHED)
        return True

    checks = {
        "kafka": lambda: broker_healthy(platform.settings.kafka.bootstrap),
        "lake": platform.store.healthy,
        "warehouse": platform.warehouse.healthy,
        "ledger": ledger_ok,
    }
    results = {}
    for name, check in checks.items():
        try:
            results[name] = bool(check())
        except Exception:  # noqa: BLE001 - any failure of a probe means "down"
            results[name] = False
    return results


@router.get("/healthz")
async def healthz(platform: PlatformDep) -> JSONResponse:
    """200 when every component answers, 503 naming the ones that do not."""
    components = await run_in_threadpool(_components, platform)
    healthy = all(components.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "components": components}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, platform: PlatformDep) -> str:
    """Prometheus metrics: requests, replay jobs and ledger hours by status."""
    gauges = request.app.state.gauges

    def refresh() -> None:
        for hour_state in HourStatus.recorded():
            gauges["hours"].labels(hour_state).set(platform.ledger.count_hours(hour_state))
        counts: dict[JobStatus, int] = {}
        for job in platform.ledger.jobs(1000):
            counts[job.status] = counts.get(job.status, 0) + 1
        for job_state in JobStatus:
            gauges["jobs"].labels(job_state).set(counts.get(job_state, 0))

    await run_in_threadpool(refresh)
    return generate_latest(request.app.state.registry).decode()
