"""Reading back what an interrupted publish already delivered.

Before an hour is published its topics' end offsets are recorded in the
ledger. If the producer dies mid-hour (kill -9), the next attempt reads the
topics from those offsets and collects the ``line``/``part`` headers of that
hour's messages, so it sends only what is missing: every line lands once, as
far as the producer can know.
"""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ghlake.errors import ServiceError

__all__ = ["delivered_message_ids", "end_offsets", "header_map"]


def header_map(message: Message) -> dict[str, bytes]:
    """A message's headers as a dict of bytes (a list of pairs or a dict on the wire)."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    out: dict[str, bytes] = {}
    for name, value in pairs:
        out[name] = value if isinstance(value, bytes) else (value or "").encode()
    return out


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "ghlake-readback",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "log_level": 0,
        }
    )


def end_offsets(bootstrap: str, topic: str, timeout: float = 10) -> dict[int, int]:
    """The next offset to be written, per partition of ``topic``."""
    consumer = _consumer(bootstrap)
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise ServiceError(f"topic {topic} does not exist on {bootstrap}")
        return {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)[1]
            for partition in metadata.topics[topic].partitions
        }
    except KafkaException as exc:
        raise ServiceError(f"reading the end offsets of {topic} failed: {exc}") from exc
    finally:
        consumer.close()


def delivered_message_ids(
    bootstrap: str, starts: Mapping[str, Mapping[int, int]], hour: str, timeout: float = 30
) -> set[str]:
    """``line.part`` ids of the messages of ``hour`` written at or after ``starts``.

    ``starts`` maps topic -> partition -> offset (as recorded before the hour began).
    """
    consumer = _consumer(bootstrap)
    found: set[str] = set()
    try:
        assignments = []
        remaining: set[tuple[str, int]] = set()
        for topic, partitions in starts.items():
            ends = end_offsets(bootstrap, topic, timeout)
            for partition, start in partitions.items():
                if ends.get(partition, 0) > start:
                    assignments.append(TopicPartition(topic, partition, start))
                    remaining.add((topic, partition))
        if not assignments:
            return found
        consumer.assign(assignments)
        wanted = hour.encode()
        while remaining:
            message = consumer.poll(timeout)
            if message is None:
                raise ServiceError(
                    f"reading back {hour} timed out; {len(remaining)} partitions left"
                )
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    remaining.discard((message.topic(), message.partition()))
                    continue
                raise ServiceError(f"reading back {hour} failed: {error}")
            headers = header_map(message)
            if headers.get("hour") == wanted:
                line = headers.get("line", b"").decode()
                part = headers.get("part", b"0").decode()
                found.add(f"{line}.{part}")
        return found
    except KafkaException as exc:
        raise ServiceError(f"reading back {hour} failed: {exc}") from exc
    finally:
        consumer.close()
