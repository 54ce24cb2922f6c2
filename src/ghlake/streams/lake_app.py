"""The lake writer: a faust-streaming agent that batches the events topic into the lake.

Batches are taken without automatic acks; each batch's offsets are
acknowledged (and so committed by Faust) only after :class:`LakeSink` has
stored every object of the batch in MinIO. Several workers in one consumer
group share the partitions.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from prometheus_client import generate_latest

from ghlake.kafka.producer import EventPublisher
from ghlake.lake.sink import LakeMetrics, LakeSink
from ghlake.lake.store import ObjectStore
from ghlake.lake.writer import LakeWriter, SourceRecord
from ghlake.settings import Settings

__all__ = ["create_lake_app"]

log = logging.getLogger(__name__)


def _record(event: Any) -> SourceRecord:
    message = event.message
    headers = message.headers or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return SourceRecord(
        partition=message.partition,
        offset=message.offset,
        value=message.value if message.value is not None else b"",
        headers={key: value or b"" for key, value in pairs},
    )


def create_lake_app(settings: Settings) -> faust.App:
    """The Faust app of the lake writer for ``settings``."""
    lake = settings.lake
    app = faust.App(
        lake.consumer_group,
        broker=f"kafka://{settings.kafka.bootstrap}",
        store="memory://",
        value_serializer="raw",
        key_serializer="raw",
        web_bind=lake.web_host,
        web_host=lake.web_host,
        web_port=lake.web_port,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        consumer_max_fetch_size=16 * 1024 * 1024,
    )
    topic = app.topic(settings.kafka.topic, key_type=bytes, value_type=bytes)
    metrics = LakeMetrics()
    sink = LakeSink(
        LakeWriter(ObjectStore.from_settings(settings), settings.kafka.topic, lake.prefix),
        EventPublisher(settings.kafka),
        metrics,
        retry_max_seconds=lake.retry_max_seconds,
    )

    @app.agent(topic)
    async def write_lake(stream: Any) -> None:  # a faust.Stream; StreamT lacks noack_take
        async for events in stream.noack_take(lake.batch_max_events, within=lake.batch_max_seconds):
            records = [_record(event) for event in events]
            result = await asyncio.to_thread(sink.write_batch, records)
            for event in events:
                await stream.ack(event)
            log.info(
                "batch stored",
                extra={"records": len(records), "rows": result.rows, "files": len(result.files),
                       "dead_letters": len(result.dead_letters)},
            )  # fmt: skip

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        if sink.last_error is not None:
            return web.json({"status": "stalled", "error": sink.last_error}, status=503)
        return web.json({"status": "ok"})

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.text(generate_latest(metrics.registry).decode())

    return app
