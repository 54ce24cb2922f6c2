"""Reading back what an interrupted publish already delivered.

Before an hour is published, the ledger records when the attempt started. If
the producer dies mid-hour (kill -9), the next attempt finds, by timestamp,
where that attempt's messages begin in each partition, reads the topics from
there and collects the ``line``/``part`` headers of that hour's messages, so it
sends only what is missing: every line lands once, as far as the producer can
know. The lake writer does the same for the dead letters of a batch that a
crash interrupted (their ``kafka_partition``/``kafka_offset`` headers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ghlake.errors import ServiceError, Transient

__all__ = [
    "OffsetReader",
    "ReadBackError",
    "delivered_message_ids",
    "end_offsets",
    "header_map",
    "offsets_since",
    "read_back",
]

# Answers of a broker whose new topic is still electing leaders; librdkafka does not
# flag them retriable, but a moment later they succeed.
_SETTLING = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


class ReadBackError(ServiceError, Transient):
    """The broker could not be read back now (unreachable, or a read timed out)."""


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


class OffsetReader:
    """Reads topics' end offsets through one consumer (its connections are reused)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer = _consumer(bootstrap)

    def end_offsets(self, topic: str, timeout: float = 10) -> dict[int, int]:
        """The next offset to be written, per partition of ``topic``.

        Answers of a broker still electing leaders for a new topic are retried until
        ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                metadata = self._consumer.list_topics(topic, timeout=timeout)
                if topic not in metadata.topics or metadata.topics[topic].error is not None:
                    raise ServiceError(f"topic {topic} does not exist on {self.bootstrap}")
                return {
                    p: self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout)[1]
                    for p in metadata.topics[topic].partitions
                }
            except KafkaException as exc:
                error = exc.args[0]
                retriable = isinstance(error, KafkaError) and (
                    error.retriable() or error.code() in _SETTLING
                )
                if not retriable or time.monotonic() > deadline:
                    raise ServiceError(f"reading the end offsets of {topic} failed: {exc}") from exc
                time.sleep(0.1)

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


def end_offsets(bootstrap: str, topic: str, timeout: float = 10) -> dict[int, int]:
    """The next offset to be written, per partition of ``topic`` (a one-off reader)."""
    reader = OffsetReader(bootstrap)
    try:
        return reader.end_offsets(topic, timeout)
    finally:
        reader.close()


def offsets_since(
    bootstrap: str, topics: list[str], since: datetime, timeout: float = 10
) -> dict[str, dict[int, int]]:
    """Per topic and partition, the first offset of a message produced at or after ``since``.

    Messages carry their producer's create time, so an interrupted attempt's messages
    all lie at or after the attempt's start; partitions with none map to their end.
    """
    consumer = _consumer(bootstrap)
    millis = int(since.timestamp() * 1000)
    try:
        starts: dict[str, dict[int, int]] = {}
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=timeout)
            partitions = [
                TopicPartition(topic, p, millis) for p in metadata.topics[topic].partitions
            ]
            found = consumer.offsets_for_times(partitions, timeout=timeout)
            ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout)[1]
                    for p in metadata.topics[topic].partitions}  # fmt: skip
            starts[topic] = {tp.partition: tp.offset if tp.offset >= 0 else ends[tp.partition]
                             for tp in found}  # fmt: skip
        return starts
    except KafkaException as exc:
        raise ReadBackError(f"finding offsets since {since.isoformat()} failed: {exc}") from exc
    finally:
        consumer.close()


def delivered_message_ids(
    bootstrap: str, starts: Mapping[str, Mapping[int, int]], hour: str, timeout: float = 30
) -> set[str]:
    """``line.part`` ids of the messages of ``hour`` written at or after ``starts``.

    ``starts`` maps topic -> partition -> offset (as recorded before the hour began).
    """
    wanted = hour.encode()

    def line_part(headers: Mapping[str, bytes]) -> str | None:
        if headers.get("hour") != wanted:
            return None
        return f"{headers.get('line', b'').decode()}.{headers.get('part', b'0').decode()}"

    return read_back(bootstrap, starts, line_part, f"hour {hour}", timeout)


def read_back(
    bootstrap: str,
    starts: Mapping[str, Mapping[int, int]],
    identify: Callable[[Mapping[str, bytes]], str | None],
    what: str,
    timeout: float = 30,
) -> set[str]:
    """The ids that ``identify`` finds in the headers of messages written at or after ``starts``.

    ``starts`` maps topic -> partition -> offset; every partition is read to its end.
    ``identify`` returns a message's id, or None for messages that are not of interest.
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
        while remaining:
            message = consumer.poll(timeout)
            if message is None:
                raise ReadBackError(
                    f"reading back {what} timed out; {len(remaining)} partitions left"
                )
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    remaining.discard((message.topic(), message.partition()))
                    continue
                raise ReadBackError(f"reading back {what} failed: {error}")
            ident = identify(header_map(message))
            if ident is not None:
                found.add(ident)
        return found
    except KafkaException as exc:
        raise ReadBackError(f"reading back {what} failed: {exc}") from exc
    finally:
        consumer.close()
