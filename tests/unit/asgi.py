"""A synchronous httpx client that calls an ASGI app in-process (no server, no lifespan).

Starlette's TestClient warns that its httpx support is deprecated; httpx's own
ASGITransport is async only, so each request runs it in a fresh event loop.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

__all__ = ["in_process_client"]


def in_process_client(app: FastAPI) -> httpx.Client:
    """An ``httpx.Client`` whose requests ``app`` answers, at ``http://testserver``."""

    async def answer(request: httpx.Request) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.send(request)
            content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    transport = httpx.MockTransport(lambda request: asyncio.run(answer(request)))
    return httpx.Client(transport=transport, base_url="http://testserver")
