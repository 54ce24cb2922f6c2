"""A time range of the events topic: where it lies, whether it is still retained, reading it.

A topic replay rebuilds the lake or the warehouse from what the topic retains. The
broker maps a time to an offset per partition (``offsets_for_times``: the first
message whose timestamp, the producer's create time, is at or after it), so a range
``[from_time, to_time)`` is, per partition, the offsets ``[start, end)``. The range
must still be on the topic: when retention has already deleted messages of a
partition newer than ``from_time``, the range is refused with the earliest time from
which the topic holds everything.

:class:`RangeReader` reads a range in batches with a consumer group of its own and
commits each batch's offsets when the caller has written it, so the group's lag
(``ghlake-topic-replay-<id>-<store>``) shows how far a replay is, like any consumer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from ghlake.errors import InvalidInputError, ServiceError, Transient
from ghlake.kafka.readback import header_map

__all__ = [
    "RangeReader",
    "TopicRange",
    "TopicRangeError",
    "TopicRecord",
    "available_since",
    "commit_group_offsets",
    "delete_group",
    "group_offsets",
    "plan_range",
]


class TopicRangeError(ServiceError, Transient):
    """The broker could not answer about or deliver a range now."""


class TopicRecord(NamedTuple):
    """One message of a range: its place and content."""

    partition: int
    offset: int
    value: bytes
    headers: Mapping[str, bytes | None]


@dataclass(frozen=True)
class TopicRange:
    """Per partition of ``topic``, the offsets ``[start, end)`` of a time range."""

    topic: str
    from_time: datetime
    to_time: datetime
    starts: Mapping[int, int]
    ends: Mapping[int, int]

    @property
    def messages(self) -> int:
        """How many messages the range holds."""
        return sum(max(self.ends[p] - start, 0) for p, start in self.starts.items())

    def spans(self) -> dict[int, tuple[int, int]]:
        """``partition -> (start, end)`` of the partitions with messages in the range."""
        return {p: (s, self.ends[p]) for p, s in sorted(self.starts.items()) if self.ends[p] > s}


def available_since(first: Mapping[int, tuple[int, datetime | None]]) -> datetime | None:
    """The earliest time from which the topic still holds every message; None: it lost none.

    ``first`` maps a partition to its low watermark and the timestamp of the message
    there (None for an empty partition). A partition whose low watermark is above 0
    lost its older messages to retention, so it is whole only from its first message's
    time on. (A partition retention emptied has no time to tell; it is left out.)
    """
    trimmed = [at for low, at in first.values() if at is not None and low > 0]
    return max(trimmed, default=None)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _consumer(bootstrap: str, group: str, **extra: object) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
        "enable.partition.eof": True, "log_level": 0, **extra,
    })  # fmt: skip


def _first_messages(
    consumer: Consumer, topic: str, marks: Mapping[int, tuple[int, int]], timeout: float
) -> dict[int, tuple[int, datetime | None]]:
    """Each partition's low watermark and the timestamp of the message there."""
    first: dict[int, tuple[int, datetime | None]] = {p: (m[0], None) for p, m in marks.items()}
    wanted = {p for p, (low, high) in marks.items() if high > low}
    if not wanted:
        return first
    consumer.assign([TopicPartition(topic, p, marks[p][0]) for p in sorted(wanted)])
    deadline = time.monotonic() + timeout
    while wanted:
        if time.monotonic() > deadline:
            raise TopicRangeError(f"reading the oldest messages of {topic} timed out")
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        partition = message.partition()
        if partition in wanted:
            _, millis = message.timestamp()
            first[partition] = (marks[partition][0], datetime.fromtimestamp(millis / 1000, UTC))
            wanted.discard(partition)
    consumer.unassign()
    return first


def plan_range(
    bootstrap: str, topic: str, from_time: datetime, to_time: datetime, timeout: float = 30
) -> TopicRange:
    """The offsets of ``[from_time, to_time)`` on ``topic``; refused when no longer retained.

    Raises :class:`InvalidInputError` naming the earliest time the topic holds when
    ``from_time`` is before it.
    """
    if to_time <= from_time:
        raise InvalidInputError(f"the range {from_time.isoformat()}..{to_time} is empty")
    consumer = _consumer(bootstrap, "ghlake-topic-ranges")
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise ServiceError(f"topic {topic} does not exist on {bootstrap}")
        partitions = sorted(metadata.topics[topic].partitions)
        marks = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            for p in partitions
        }
        since = available_since(_first_messages(consumer, topic, marks, timeout))
        if since is not None and from_time < since:
            raise InvalidInputError(
                f"the range starting {from_time.isoformat()} is no longer on topic {topic}: "
                f"it holds messages from {since.isoformat()} on (retention: "
                "GHLAKE_KAFKA__RETENTION_MS)"
            )

        def offsets_at(moment: datetime) -> dict[int, int]:
            asked = [TopicPartition(topic, p, _millis(moment)) for p in partitions]
            found = consumer.offsets_for_times(asked, timeout=timeout)
            return {tp.partition: tp.offset if tp.offset >= 0 else marks[tp.partition][1]
                    for tp in found}  # fmt: skip

        return TopicRange(topic, from_time, to_time, offsets_at(from_time), offsets_at(to_time))
    except KafkaException as exc:
        raise TopicRangeError(f"finding the offsets of {topic} for a time failed: {exc}") from exc
    finally:
        consumer.close()


class RangeReader:
    """Reads a :class:`TopicRange` in batches as consumer group ``group``.

    The caller writes each batch, then calls :meth:`commit`, which commits the batch's
    offsets for the group (its progress, as lag monitoring sees it).
    """

    def __init__(self, bootstrap: str, group: str, span: TopicRange, batch_size: int = 5000):
        self.group = group
        self.range = span
        self.batch_size = batch_size
        self._consumer = _consumer(bootstrap, group, **{"fetch.max.bytes": 64 * 1024**2})
        self._done: dict[int, int] = {}  # partition -> next offset to commit

    def batches(self, poll_timeout: float = 30) -> Iterator[list[TopicRecord]]:
        """The range's messages, a batch at a time, each partition in offset order.

        Fails when no message came for ``poll_timeout`` seconds with partitions left.
        """
        spans = self.range.spans()
        if not spans:
            return
        topic = self.range.topic
        self._consumer.assign([TopicPartition(topic, p, s) for p, (s, _) in spans.items()])
        remaining = dict(spans)
        moved = time.monotonic()
        while remaining:
            messages = self._consumer.consume(self.batch_size, timeout=1.0)
            if not messages and time.monotonic() - moved > poll_timeout:
                left = ", ".join(f"{p}@{s}..{e}" for p, (s, e) in sorted(remaining.items()))
                raise TopicRangeError(f"reading {topic} as {self.group} stalled; left: {left}")
            batch: list[TopicRecord] = []
            for message in messages:
                partition, offset = message.partition() or 0, message.offset() or 0
                span = remaining.get(partition)
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise TopicRangeError(f"reading {topic} as {self.group} failed: {error}")
                    if span is not None and offset >= span[1]:
                        del remaining[partition]
                    continue
                if span is None or offset >= span[1]:
                    continue
                moved = time.monotonic()
                batch.append(TopicRecord(partition, offset, message.value() or b"",
                                         header_map(message)))  # fmt: skip
                if offset >= span[1] - 1:
                    del remaining[partition]
                    self._consumer.pause([TopicPartition(topic, partition)])
            if batch:
                yield batch

    def commit(self, batch: list[TopicRecord]) -> None:
        """Commit ``batch``'s offsets for the group (it is written)."""
        for record in batch:
            self._done[record.partition] = max(self._done.get(record.partition, 0),
                                               record.offset + 1)  # fmt: skip
        offsets = [TopicPartition(self.range.topic, p, o) for p, o in sorted(self._done.items())]
        if offsets:
            try:
                self._consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                raise TopicRangeError(f"committing offsets of {self.group} failed: {exc}") from exc

    def close(self) -> None:
        """Close the consumer (the group's offsets stay until :func:`delete_group`)."""
        self._consumer.close()


def commit_group_offsets(
    bootstrap: str, group: str, topic: str, offsets: Mapping[int, int], timeout: float = 30
) -> None:
    """Set ``group``'s committed offsets on ``topic`` (the group must have no members)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())]
    request = [ConsumerGroupTopicPartitions(group, partitions)]
    try:
        for future in admin.alter_consumer_group_offsets(request, request_timeout=timeout).values():
            future.result(timeout=timeout)
    except KafkaException as exc:
        raise TopicRangeError(f"setting the offsets of group {group} failed: {exc}") from exc


def group_offsets(
    bootstrap: str, group: str, topic: str, partitions: list[int], timeout: float = 10
) -> dict[int, int]:
    """``group``'s committed offset per partition of ``topic`` (-1 when none)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    asked = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])]
    try:
        futures = admin.list_consumer_group_offsets(asked, request_timeout=timeout)
        answer = next(iter(futures.values())).result(timeout=timeout)
    except KafkaException as exc:
        raise TopicRangeError(f"reading the offsets of group {group} failed: {exc}") from exc
    return {tp.partition: tp.offset for tp in answer.topic_partitions}


def delete_group(bootstrap: str, group: str, timeout: float = 30) -> None:
    """Delete consumer group ``group`` once it has no members (retried until ``timeout``)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        try:
            for future in admin.delete_consumer_groups([group], request_timeout=10).values():
                future.result(timeout=15)
            return
        except KafkaException as exc:
            error = exc.args[0]
            if isinstance(error, KafkaError) and error.code() == KafkaError.GROUP_ID_NOT_FOUND:
                return
            if time.monotonic() >= deadline:
                raise TopicRangeError(f"deleting consumer group {group} failed: {exc}") from exc
            time.sleep(1.0)
