"""Rewinding the warehouse's consumer group, so the Kafka engine re-reads the topic.

Used when github_events must be rebuilt (a pre-migration database): with the Kafka
engine table dropped, the group has no members and its committed offsets can be moved
to each partition's earliest retained offset. ReplacingMergeTree folds whatever the
tables already held with what is read again.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from ghlake.errors import ServiceError, Transient
from ghlake.settings import Settings

__all__ = ["RewindError", "rewind_to_earliest"]


class RewindError(ServiceError, Transient):
    """The consumer group could not be moved (broker down, group still active)."""


def _earliest(bootstrap: str, topic: str, timeout: float) -> list[TopicPartition]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "ghlake-watermarks",
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
        out = []
        for number in sorted(partitions):
            low, _high = consumer.get_watermark_offsets(
                TopicPartition(topic, number), timeout=timeout
            )
            out.append(TopicPartition(topic, number, low))
        return out
    finally:
        consumer.close()


def rewind_to_earliest(settings: Settings, timeout: float = 60) -> int:
    """Move the warehouse consumer group to the earliest offsets; return the partitions moved."""
    bootstrap, topic = settings.kafka.bootstrap, settings.kafka.topic
    group = settings.warehouse.consumer_group
    try:
        partitions = _earliest(bootstrap, topic, timeout=10)
    except KafkaException as exc:
        raise RewindError(f"cannot read the offsets of {topic} on {bootstrap}: {exc}") from exc
    if not partitions:
        return 0
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        futures = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, partitions)], request_timeout=10
        )
        try:
            for future in futures.values():
                future.result(timeout=15)
            return len(partitions)
        except KafkaException as exc:
            # The dropped Kafka engine's consumer may still be leaving the group.
            if time.monotonic() >= deadline:
                raise RewindError(
                    f"cannot rewind consumer group {group} on {topic}: {exc}; stop every "
                    "consumer of the group and run `ghlake warehouse migrate` again"
                ) from exc
            time.sleep(1.0)
