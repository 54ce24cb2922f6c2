"""Dependencies of the warehouse service's routes, as named ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from prometheus_client import CollectorRegistry, Counter, Gauge

from ghlake.settings import Settings
from ghlake.warehouse.service import WarehouseService

__all__ = ["Metrics", "MetricsDep", "ServiceDep", "TokenDep"]


class Metrics:
    """The service's Prometheus registry and what the routes record in it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rows = Gauge(
            "ghlake_warehouse_rows", "Rows per warehouse table", ["table"], registry=self.registry
        )
        self.sql_refused = Counter(
            "ghlake_warehouse_sql_refused", "Read-only SQL queries refused", registry=self.registry
        )
        self.clickhouse_queries = Counter(
            "ghlake_clickhouse_queries",
            "Queries answered on the ClickHouse HTTP interface, by outcome and framing",
            ["outcome", "framed"],
            registry=self.registry,
        )


def _service(request: Request) -> WarehouseService:
    service: WarehouseService = request.app.state.service
    return service


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def _require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    settings: Settings = request.app.state.settings
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "Bearer" or not settings.accepts_token(token):
        raise HTTPException(status_code=401, detail="a valid bearer token is required")


ServiceDep = Annotated[WarehouseService, Depends(_service)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
TokenDep = Annotated[None, Depends(_require_token)]
