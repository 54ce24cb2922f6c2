"""Metabase's REST API behind one small seam.

Authentication as Metabase documents it: an API key (``X-API-KEY``) or a session from
``POST /api/session`` (``X-Metabase-Session``). Errors leave as :class:`MetabaseError`,
transient when Metabase does not answer or answers 5xx.
"""

from __future__ import annotations

from typing import Any

import httpx

from ghlake.errors import ServiceError, Transient

__all__ = ["MetabaseClient", "MetabaseError", "MetabaseUnavailableError"]


class MetabaseError(ServiceError):
    """Metabase refused a request."""


class MetabaseUnavailableError(MetabaseError, Transient):
    """Metabase does not answer, or failed (5xx)."""


class MetabaseClient:
    """One Metabase instance, as an API key or a user."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        if api_key is None and (user is None or password is None):
            raise MetabaseError("give an API key, or a user and a password")
        self.url = url.rstrip("/")
        self.http = http or httpx.Client(timeout=60)
        self._api_key, self._user, self._password = api_key, user, password
        self._session: str | None = None

    def _headers(self) -> dict[str, str]:
        if self._api_key is not None:
            return {"X-API-KEY": self._api_key}
        if self._session is None:
            body = {"username": self._user, "password": self._password}
            self._session = str(self._call("POST", "/api/session", body, {})["id"])
        return {"X-Metabase-Session": self._session}

    def request(self, method: str, path: str, body: object = None) -> Any:
        """Metabase's JSON answer to ``method path`` with a JSON ``body``."""
        return self._call(method, path, body, self._headers())

    def _call(self, method: str, path: str, body: object, headers: dict[str, str]) -> Any:
        try:
            response = self.http.request(method, self.url + path, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise MetabaseUnavailableError(
                f"Metabase at {self.url} does not answer: {exc}"
            ) from exc
        if response.status_code >= 500:
            raise MetabaseUnavailableError(f"{method} {path}: {response.status_code}")
        if response.status_code >= 400:
            raise MetabaseError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
