"""The lag monitor from outside: the API's ``/v1/lag``, for the CLI and tools.

The monitor lives in the API process, where its window of samples is; a one-off command
sampling the broker itself would see one sample and could judge nothing.
"""

from __future__ import annotations

from typing import Any

import httpx

from ghlake.errors import InvalidInputError, ServiceError, Transient

__all__ = ["LagClient", "LagUnavailableError"]


class LagUnavailableError(ServiceError, Transient):
    """The API (where the lag monitor runs) does not answer."""


class LagClient:
    """Reads the lag report from the API at ``url``."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def report(self, group: str | None = None) -> dict[str, Any]:
        """``GET /v1/lag`` (every group) or ``/v1/lag/{group}``, as JSON."""
        path = "/v1/lag" if group is None else f"/v1/lag/{group}"
        try:
            response = httpx.get(f"{self.url}{path}", timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise LagUnavailableError(
                f"the API at {self.url} does not answer ({exc}); the lag monitor runs in it: "
                "start the stack with `ghlake up`"
            ) from exc
        if response.status_code == 404:
            raise InvalidInputError(response.json().get("detail", f"no group {group!r}"))
        if response.status_code != 200:
            raise LagUnavailableError(
                f"GET {path} answered {response.status_code}: {response.text}"
            )
        body: dict[str, Any] = response.json()
        return body
