"""The live page's loop: quick while a page is open, slow while none is."""

from __future__ import annotations

import asyncio
import time

from ghlake.api.live import LiveFeed, Snapshot


def test_it_collects_slowly_without_clients_and_at_once_when_one_connects() -> None:
    collected: list[float] = []

    def collect() -> Snapshot:
        collected.append(time.monotonic())
        return {"at": time.time(), "total": len(collected), "rates": {}}

    async def not_gone() -> bool:
        return False

    async def scenario() -> tuple[int, int, int]:
        feed = LiveFeed(collect, interval=0.05, idle_interval=60)
        loop = asyncio.create_task(feed.run())
        await asyncio.sleep(0.6)  # nobody watching: the first snapshot only
        idle = len(collected)
        stream = feed.stream(None, not_gone)
        assert await anext(stream) == b"retry: 2000\n\n"
        history = await anext(stream)
        # Not after the idle minute: the loop wakes when a client connects.
        await asyncio.wait_for(anext(stream), timeout=20)
        await asyncio.sleep(0.5)  # watched: every 0.05 s
        watched = len(collected) - idle
        await stream.aclose()
        loop.cancel()
        return idle, history.count(b'"total"'), watched

    idle, in_history, watched = asyncio.run(scenario())
    assert idle == 1
    assert in_history == 1, "the history holds the snapshot taken before"
    assert watched >= 3
