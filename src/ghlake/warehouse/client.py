"""Talking to the warehouse service (the process that owns the chDB engine)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx

from ghlake.errors import ServiceError, Transient, WarehouseError

__all__ = ["WarehouseClient", "WarehouseUnavailableError"]


class WarehouseUnavailableError(ServiceError, Transient):
    """The warehouse service does not answer."""


class WarehouseClient:
    """Named queries over HTTP."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = client or httpx.Client(timeout=30)

    def named(self, name: str, params: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Rows of the named query ``name`` run with ``params``."""
        url = f"{self.base_url}/v1/queries/{name}"
        try:
            response = self.http.post(url, json={"params": dict(params or {})})
        except httpx.TransportError as exc:
            raise WarehouseUnavailableError(
                f"the warehouse at {self.base_url} does not answer: {exc}"
            ) from exc
        if response.status_code != 200:
            raise WarehouseError(
                f"query {name} failed ({response.status_code}): {response.text[:500]}"
            )
        rows: list[dict[str, Any]] = response.json()["rows"]
        return rows

    def counts_by_source_hour(self, hours: Collection[str]) -> dict[str, int]:
        """Deduplicated events per source hour."""
        rows = self.named("counts_by_source_hour", {"hours": sorted(hours)})
        return {row["source_hour"]: int(row["events"]) for row in rows}

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()

    def healthy(self) -> bool:
        """Whether the service answers its health check."""
        try:
            return self.http.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False
