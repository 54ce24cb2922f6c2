"""The local stack: which services run, in which order, and how each is prepared.

Order matters: the broker and MinIO first, then the warehouse service (its
Kafka engine needs the topic) and the lake writer (it needs topic and bucket).
A service configured as external (``GHLAKE_KAFKA__EXTERNAL_BOOTSTRAP``,
``GHLAKE_MINIO__EXTERNAL_ENDPOINT``) is not started here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ghlake.kafka.topics import ensure_topics, event_topics
from ghlake.lake.store import ObjectStore
from ghlake.services.kafka_broker import broker_spec, ensure_kafka_jars, format_storage
from ghlake.services.minio_server import ensure_minio_binary, minio_data_dir, minio_spec
from ghlake.services.supervisor import ProcessSpec
from ghlake.settings import Settings

__all__ = ["StackService", "stack_services"]


@dataclass(frozen=True)
class StackService:
    """One service of the stack with its install, pre-start and post-start steps."""

    name: str
    spec: Callable[[], ProcessSpec]
    install: Callable[[], object] = lambda: None  # downloads and builds, into the cache
    prepare: Callable[[], object] = lambda: None  # state set-up before the first start
    after_start: Callable[[], object] = lambda: None


def _http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def _ghlake_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "ghlake.cli.main", *args]


def stack_services(settings: Settings) -> list[StackService]:
    """The services ``ghlake up`` starts, in start order (the API last: it checks the rest)."""
    services: list[StackService] = []
    if settings.kafka.external_bootstrap is None:
        services.append(
            StackService(
                "kafka",
                spec=lambda: broker_spec(settings),
                install=lambda: ensure_kafka_jars(settings),
                prepare=lambda: format_storage(settings),
                after_start=lambda: ensure_topics(
                    settings.kafka.bootstrap, event_topics(settings.kafka)
                ),
            )
        )
    if settings.minio.external_endpoint is None:
        services.append(
            StackService(
                "minio",
                spec=lambda: minio_spec(settings),
                install=lambda: ensure_minio_binary(settings),
                prepare=lambda: minio_data_dir(settings).mkdir(parents=True, exist_ok=True),
                after_start=lambda: ObjectStore.from_settings(settings).ensure_bucket(),
            )
        )
    warehouse_url = settings.warehouse.url
    lake_url = f"http://{settings.lake.web_host}:{settings.lake.web_port}"
    api_url = settings.api.url
    services += [
        StackService(
            "warehouse",
            spec=lambda: ProcessSpec(
                name="warehouse",
                argv=_ghlake_argv("warehouse", "serve"),
                address=warehouse_url,
                health=lambda: _http_ok(f"{warehouse_url}/healthz"),
                ready_timeout=60,
            ),
        ),
        StackService(
            "lake-writer",
            spec=lambda: ProcessSpec(
                name="lake-writer",
                argv=_ghlake_argv("worker"),
                address=lake_url,
                health=lambda: _http_ok(f"{lake_url}/healthz"),
                ready_timeout=90,
                stop_timeout=30,
            ),
        ),
        StackService(
            "api",
            spec=lambda: ProcessSpec(
                name="api",
                argv=_ghlake_argv("api", "serve"),
                address=api_url,
                health=lambda: _http_ok(f"{api_url}/healthz"),
                ready_timeout=60,
                stop_timeout=30,
            ),
        ),
    ]
    return services
