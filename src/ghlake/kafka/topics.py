"""Topics ghlake owns, created idempotently through the admin API."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from ghlake.errors import ServiceError
from ghlake.settings import KafkaSettings

__all__ = ["TopicSpec", "ensure_topics", "event_topics"]


@dataclass(frozen=True)
class TopicSpec:
    """A topic and the configuration it is created with."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)
    replication_factor: int = 1


def event_topics(kafka: KafkaSettings) -> list[TopicSpec]:
    """The events topic and its dead-letter topic.

    Both are replicated as the cluster allows (three replicas from three brokers) and
    need ``min.insync.replicas`` of them for an ``acks=all`` write: with 2 of 3, one
    broker may fail without a write being refused or an acknowledged one lost.
    """
    common = {
        "retention.ms": str(kafka.retention_ms),
        "min.insync.replicas": str(kafka.min_insync_replicas),
    }
    replicas = kafka.replication_factor
    return [
        TopicSpec(
            kafka.topic,
            kafka.partitions,
            {**common, "compression.type": "producer", "max.message.bytes": "10485760"},
            replicas,
        ),
        # Dead letters are kept as long as the events: they are the evidence.
        TopicSpec(kafka.dead_letter_topic, 1, common, replicas),
    ]


def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], timeout: float = 30) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    specs = list(specs)
    futures = admin.create_topics(
        [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication_factor,
                config=dict(s.config),
            )
            for s in specs
        ],
        request_timeout=timeout,
    )
    created: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0]
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise ServiceError(f"creating topic {name} on {bootstrap} failed: {error}") from exc
        created.append(name)
    _wait_visible(admin, [s.name for s in specs], timeout)
    return created


def _wait_visible(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Wait until every topic has a leader for each partition (creation is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        ready = all(
            name in topics
            and topics[name].error is None
            and topics[name].partitions
            and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name in names
        )
        if ready:
            return
        if time.monotonic() > deadline:
            raise ServiceError(f"topics {', '.join(names)} not ready after {timeout:.0f}s")
        time.sleep(0.1)
