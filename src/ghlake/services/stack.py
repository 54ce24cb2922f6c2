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


def _ghlake_service(
    name: str, command: tuple[str, ...], url: str, ready_timeout: float = 60
) -> StackService:
    """A service that is a ``ghlake`` command answering ``<url>/healthz``."""
    return StackService(
        name,
        spec=lambda: ProcessSpec(
            name=name,
            argv=[sys.executable, "-m", "ghlake.cli.main", *command],
            address=url,
            health=lambda: _http_ok(f"{url}/healthz"),
            ready_timeout=ready_timeout,
            stop_timeout=30,
        ),
    )


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
    lake_url = f"http://{settings.lake.web_host}:{settings.lake.web_port}"
    services += [
        _ghlake_service("warehouse", ("warehouse", "serve"), settings.warehouse.url),
        _ghlake_service("lake-writer", ("worker",), lake_url, ready_timeout=90),
        _ghlake_service("api", ("api", "serve"), settings.api.url),
    ]
    return services
