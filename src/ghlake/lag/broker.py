"""What the broker says about its consumer groups: commits, members, and the logs' ends.

One :class:`BrokerOffsets` per monitor holds one admin client and one plain consumer
(no group membership, never committing) that reads single records for their
timestamps. Every group on the broker is listed, whatever it reads, so a new consumer
(a Spark query, a tool) shows up without configuration. Internal topics (``__*``) are
left out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin import OffsetSpec as _OffsetSpec  # type: ignore[attr-defined]

from ghlake.errors import ServiceError, Transient

__all__ = ["BrokerOffsets", "BrokerUnavailableError", "BrokerView", "GroupView", "TopicPart"]

TopicPart = tuple[str, int]


class BrokerUnavailableError(ServiceError, Transient):
    """The broker did not answer the lag monitor's requests."""


@dataclass(frozen=True)
class GroupView:
    """One consumer group: its state, members, and committed offsets (None: no commit)."""

    group: str
    state: str
    members: int
    committed: Mapping[TopicPart, int | None]
    # Which member (client id @ host) owns each assigned partition.
    owners: Mapping[TopicPart, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BrokerView:
    """Every group and the start and end offset of every partition they touch, at ``at``."""

    at: float
    groups: tuple[GroupView, ...]
    logs: Mapping[TopicPart, tuple[int, int]]


def _results(futures: Mapping[Any, Future[Any]], timeout: float) -> dict[Any, Any]:
    return {key: future.result(timeout=timeout) for key, future in futures.items()}


class BrokerOffsets:
    """Reads group offsets and log ends from ``bootstrap``; closes its clients on :meth:`close`."""

    def __init__(self, bootstrap: str, *, timeout: float = 10.0, cache_size: int = 4096) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._admin = self._new_admin()
        self._reader: Consumer | None = None
        # Record timestamps never change: (topic, partition, offset) -> seconds.
        self._stamps: OrderedDict[tuple[str, int, int], float] = OrderedDict()
        self._cache_size = cache_size

    def _new_admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap})

    def close(self) -> None:
        """Close the record reader (the admin client holds no group)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _unanswered(self, what: str, exc: Exception) -> BrokerUnavailableError:
        """Start over with a new admin client: after a broker restart, librdkafka's can leave
        every later group listing unanswered (seen on the pinned broker). The record reader
        stays: it is assigned per call, and closing it while the broker is away can block."""
        self._admin = self._new_admin()
        return BrokerUnavailableError(f"cannot read {what} from {self.bootstrap}: {exc!r}")

    def read(self, now: float | None = None) -> BrokerView:
        """One view of every consumer group and the partitions it has committed or owns."""
        try:
            groups = self._groups()
            logs = self._logs({tp for group in groups for tp in group.committed})
        except (KafkaException, TimeoutError) as exc:
            raise self._unanswered("consumer groups", exc) from exc
        return BrokerView(time.time() if now is None else now, tuple(groups), logs)

    def _groups(self) -> list[GroupView]:
        listed = self._admin.list_consumer_groups(request_timeout=self.timeout).result(
            timeout=self.timeout
        )
        if listed.errors:
            raise KafkaException(listed.errors[0])
        names = sorted(g.group_id for g in listed.valid)
        if not names:
            return []
        described = _results(
            self._admin.describe_consumer_groups(names, request_timeout=self.timeout),
            self.timeout,
        )
        views = []
        for name in names:
            request = [ConsumerGroupTopicPartitions(name)]
            futures = self._admin.list_consumer_group_offsets(request, request_timeout=self.timeout)
            answer = _results(futures, self.timeout)[name]
            committed: dict[TopicPart, int | None] = {
                (tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None)
                for tp in answer.topic_partitions
                if not tp.topic.startswith("__")
            }
            description = described[name]
            owners: dict[TopicPart, str] = {}
            for member in description.members:
                for tp in member.assignment.topic_partitions if member.assignment else []:
                    if not tp.topic.startswith("__"):
                        owners[(tp.topic, tp.partition)] = f"{member.client_id}@{member.host}"
                        committed.setdefault((tp.topic, tp.partition), None)
            state = str(getattr(description.state, "name", description.state))
            views.append(GroupView(name, state, len(description.members), committed, owners))
        return self._with_every_partition(views)

    def _with_every_partition(self, views: list[GroupView]) -> list[GroupView]:
        """Add the partitions of a group's topics it neither committed nor owns (no commit)."""
        topics = {topic for view in views for topic, _ in view.committed}
        if not topics:
            return views
        metadata = self._admin.list_topics(timeout=self.timeout)
        partitions = {
            topic: sorted(metadata.topics[topic].partitions)
            for topic in topics
            if topic in metadata.topics
        }
        out = []
        for view in views:
            committed = dict(view.committed)
            for topic in {t for t, _ in view.committed}:
                for number in partitions.get(topic, []):
                    committed.setdefault((topic, number), None)
            out.append(GroupView(view.group, view.state, view.members, committed, view.owners))
        return out

    def _logs(self, parts: Iterable[TopicPart]) -> dict[TopicPart, tuple[int, int]]:
        wanted = sorted(set(parts))
        if not wanted:
            return {}
        ends: dict[TopicPart, list[int]] = {tp: [0, 0] for tp in wanted}
        specs = (_OffsetSpec.earliest(), _OffsetSpec.latest())  # type: ignore[no-untyped-call]
        for index, spec in enumerate(specs):
            request = {TopicPartition(t, p): spec for t, p in wanted}
            answers = _results(
                self._admin.list_offsets(request, request_timeout=self.timeout), self.timeout
            )
            for tp, info in answers.items():
                ends[(tp.topic, tp.partition)][index] = info.offset
        return {tp: (start, end) for tp, (start, end) in ends.items()}

    def messages(self, topic: str) -> int:
        """Messages retained in ``topic`` (0 when it does not exist): the dead letters' count."""
        try:
            metadata = self._admin.list_topics(topic, timeout=self.timeout)
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                return 0
            logs = self._logs((topic, number) for number in found.partitions)
        except (KafkaException, TimeoutError) as exc:
            raise self._unanswered(topic, exc) from exc
        return sum(end - start for start, end in logs.values())

    def record_timestamps(
        self, positions: Mapping[TopicPart, int], timeout: float = 2.0
    ) -> dict[TopicPart, float]:
        """The timestamp (seconds) of the record at each offset, where it can be read.

        A position past the log's retention or not fetched within ``timeout`` is left out;
        the caller falls back to interpolation.
        """
        found: dict[TopicPart, float] = {}
        missing: dict[TopicPart, int] = {}
        for tp, offset in positions.items():
            cached = self._stamps.get((*tp, offset))
            if cached is None:
                missing[tp] = offset
            else:
                found[tp] = cached
        if missing:
            found.update(self._fetch(missing, timeout))
        return found

    def _fetch(self, positions: Mapping[TopicPart, int], timeout: float) -> dict[TopicPart, float]:
        if self._reader is None:
            self._reader = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": "ghlake-lag-monitor",  # never joins: assign() only, no commits
                    "enable.auto.commit": False,
                    "enable.partition.eof": False,
                    "fetch.max.bytes": 1024 * 1024,
                    # One record per partition is wanted, now: do not wait for more data.
                    "fetch.wait.max.ms": 10,
                    "max.partition.fetch.bytes": 64 * 1024,
                }
            )
        reader = self._reader
        reader.assign([TopicPartition(t, p, offset) for (t, p), offset in positions.items()])
        found: dict[TopicPart, float] = {}
        deadline = time.monotonic() + timeout
        try:
            while len(found) < len(positions) and time.monotonic() < deadline:
                message = reader.poll(0.05)
                if message is None or message.error() is not None:
                    continue
                tp = (message.topic() or "", message.partition() or 0)
                wanted = positions.get(tp)
                if tp in found or wanted is None or (message.offset() or 0) < wanted:
                    continue
                _kind, millis = message.timestamp()
                if millis > 0:
                    found[tp] = millis / 1000
                    self._remember((*tp, wanted), millis / 1000)
        finally:
            reader.unassign()
        return found

    def _remember(self, key: tuple[str, int, int], stamp: float) -> None:
        self._stamps[key] = stamp
        if len(self._stamps) > self._cache_size:
            self._stamps.popitem(last=False)
