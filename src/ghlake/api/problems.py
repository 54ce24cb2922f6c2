"""The API's error answers, documented once: ``{"detail": ...}`` for every 4xx and 5xx.

FastAPI's own validation errors carry a list of problems in ``detail``; ghlake's carry
one sentence. :func:`problems` gives a route's ``responses=`` for the statuses it may
answer, so the OpenAPI schema lists each of them (the fuzz run holds the API to it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["Problem", "problems"]

_MEANING = {
    400: "a value the query refuses (a window too long, an unknown metric ...)",
    401: "the token is missing or wrong ('Authorization: Bearer <GHLAKE_API__TOKEN>')",
    404: "no such thing",
    422: "a value that is malformed or out of range",
    503: "a service behind the API does not answer; retry later",
}


class Problem(BaseModel):
    """What went wrong: one sentence, or FastAPI's list of validation problems."""

    detail: str | list[dict[str, Any]]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for ``statuses``, each answering a :class:`Problem`."""
    return {status: {"model": Problem, "description": _MEANING[status]} for status in statuses}
