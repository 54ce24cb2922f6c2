"""The lake writer worker: a faust-streaming app around the batch consumer.

Faust is the worker: it runs the process (signals, graceful stop, logging),
serves ``/healthz`` and Prometheus ``/metrics`` on ``GHLAKE_LAKE__WEB_PORT``
(events in, rows and files written, batch latency, dead letters, consumer lag
per partition) and starts and stops the :class:`LakeConsumer`, which takes
whole batches of the topic from the lake writers' consumer group, writes them
through :class:`LakeSink` and commits their offsets only once the batch's
files and offsets are in a commit of the lake's Delta table (see
:mod:`ghlake.lake.consumer` for why the batches do not come through a Faust
agent's per-message stream). Several workers in the group share the
partitions. A consumer that fails crashes the worker, so a supervisor sees it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import faust
from mode import Service
from prometheus_client import generate_latest

from ghlake.lake.consumer import LakeConsumer
from ghlake.lake.sink import LakeMetrics
from ghlake.lake.writer import WrittenFile
from ghlake.platform import Platform

__all__ = [
    "FAILPOINT_PAUSE_AFTER_DEAD_LETTERS",
    "FAILPOINT_PAUSE_AFTER_FIRST_OBJECT",
    "FAILPOINT_PAUSE_BEFORE_COMMIT",
    "FAILPOINT_PAUSE_BEFORE_TABLE_COMMIT",
    "create_lake_app",
]

log = logging.getLogger(__name__)

# Fault-injection points for the kill -9 tests: seconds to pause at a point of a batch,
# so that a test can kill the worker there and nowhere else. Unset in production.
FAILPOINT_PAUSE_AFTER_FIRST_OBJECT = "GHLAKE_FAILPOINT_PAUSE_AFTER_FIRST_OBJECT"
FAILPOINT_PAUSE_BEFORE_COMMIT = "GHLAKE_FAILPOINT_PAUSE_BEFORE_COMMIT"
FAILPOINT_PAUSE_AFTER_DEAD_LETTERS = "GHLAKE_FAILPOINT_PAUSE_AFTER_DEAD_LETTERS"
FAILPOINT_PAUSE_BEFORE_TABLE_COMMIT = "GHLAKE_FAILPOINT_PAUSE_BEFORE_TABLE_COMMIT"


def _failpoint(name: str, what: str) -> Callable[[], None] | None:
    """A pause of the seconds in environment variable ``name`` (None when unset or 0)."""
    seconds = float(os.environ.get(name, "0") or 0)
    if seconds <= 0:
        return None

    def pause() -> None:
        log.warning(f"failpoint: pausing {what}", extra={"seconds": seconds})
        time.sleep(seconds)

    return pause


def _after_first_object(
    pause: Callable[[], None] | None,
) -> Callable[[WrittenFile, int], None] | None:
    """``pause`` after the first object of each batch."""
    if pause is None:
        return None

    def on_object(file: WrittenFile, position: int) -> None:
        if position == 0:
            pause()

    return on_object


class _ConsumerService(Service):
    """Runs the blocking consumer loop in a thread for as long as the worker runs."""

    def __init__(self, app: faust.App, consumer: LakeConsumer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.consumer = consumer
        self._loop_done: asyncio.Future[None] | None = None
        self._crashing: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self._loop_done = asyncio.ensure_future(asyncio.to_thread(self.consumer.run))
        self._loop_done.add_done_callback(self._ended)

    def _ended(self, done: asyncio.Future[None]) -> None:
        error = None if done.cancelled() else done.exception()
        if error is not None and not self.should_stop:
            log.error("the lake consumer failed", exc_info=error)
            self._crashing = asyncio.ensure_future(self.app.crash(error))

    async def on_stop(self) -> None:
        self.consumer.stop()  # the batch in hand is stored and committed first
        if self._loop_done is not None:
            await asyncio.wait([self._loop_done])


def create_lake_app(platform: Platform) -> faust.App:
    """The Faust app of one lake writer worker, its clients from ``platform``."""
    settings = platform.settings
    lake = settings.lake
    # Faust keeps a data folder per app: under GHLAKE_HOME, not the working directory.
    datadir = settings.state_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        # Not the consumer group's name: the app consumes nothing through Faust, and its
        # own (idle) consumer must not join the lake writers' group.
        f"{lake.consumer_group}-worker",
        broker=f"kafka://{settings.kafka.bootstrap}",
        store="memory://",
        datadir=str(datadir / f"{lake.consumer_group}-worker-data"),
        web_bind=lake.web_host,
        web_host=lake.web_host,
        web_port=lake.web_port,
        topic_disable_leader=True,
    )
    # Faust consumes nothing itself: without this its conductor refuses to start with no topic.
    app.producer_only = True
    metrics = LakeMetrics()
    consumer = platform.lake_consumer(
        metrics,
        on_object=_after_first_object(
            _failpoint(FAILPOINT_PAUSE_AFTER_FIRST_OBJECT, "after the first object")
        ),
        after_dead_letters=_failpoint(FAILPOINT_PAUSE_AFTER_DEAD_LETTERS, "after the dead letters"),
        before_table_commit=_failpoint(
            FAILPOINT_PAUSE_BEFORE_TABLE_COMMIT, "before the table commit"
        ),
        before_commit=_failpoint(FAILPOINT_PAUSE_BEFORE_COMMIT, "before the offset commit"),
    )
    sink = consumer.sink
    app.add_dependency(_ConsumerService(app, consumer))

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        if sink.last_error is not None:
            return web.json({"status": "stalled", "error": sink.last_error}, status=503)
        return web.json({"status": "ok"})

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.text(generate_latest(metrics.registry).decode())

    return app
