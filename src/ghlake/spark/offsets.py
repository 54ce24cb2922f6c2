"""Lag of Spark's streaming queries, visible to Kafka's consumer-group tools.

Spark's Kafka source keeps its offsets in the query's checkpoint and commits nothing to
the broker, so a lag monitor that lists the broker's consumer groups cannot see it.
:class:`GroupOffsetsCommitter`, a ``StreamingQueryListener``, commits each finished
micro-batch's end offsets (the next offset to read, per partition: Kafka's meaning of a
committed offset) to the group ``ghlake-spark-<query name>``. The checkpoint still decides
where a query resumes; the group only reports how far it got.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQueryListener

from ghlake.platform import Platform

__all__ = ["GroupOffsetsCommitter", "report_lag"]

log = logging.getLogger(__name__)


def _end_offsets(end_offset: str) -> list[TopicPartition]:
    """A Kafka source's ``endOffset`` JSON (``{"topic": {"0": 42}}``) as topic partitions."""
    try:
        parsed = json.loads(end_offset)
    except (TypeError, ValueError):
        return []  # not a Kafka source
    if not isinstance(parsed, dict):
        return []
    return [
        TopicPartition(topic, int(partition), int(offset))
        for topic, partitions in parsed.items()
        if isinstance(partitions, dict)
        for partition, offset in partitions.items()
    ]


class GroupOffsetsCommitter(StreamingQueryListener):  # type: ignore[misc]
    """Commits every named query's end offsets to its group after each micro-batch."""

    def __init__(self, bootstrap: str, group_of: Callable[[str], str]) -> None:
        self.bootstrap = bootstrap
        self.group_of = group_of
        self._consumers: dict[str, Consumer] = {}

    def _consumer(self, group: str) -> Consumer:
        if group not in self._consumers:
            self._consumers[group] = Consumer(
                {"bootstrap.servers": self.bootstrap, "group.id": group,
                 "enable.auto.commit": False}
            )  # fmt: skip
        return self._consumers[group]

    def onQueryStarted(self, event: object) -> None:  # noqa: N802 - Spark's name
        """Nothing to commit before a batch ends."""

    def onQueryProgress(self, event: object) -> None:  # noqa: N802 - Spark's name
        """Commit the finished batch's end offsets (every Kafka source of the query)."""
        progress = event.progress  # type: ignore[attr-defined]
        if not progress.name:
            return  # an unnamed query has no group to report to
        offsets = [tp for source in progress.sources for tp in _end_offsets(source.endOffset)]
        if not offsets:
            return
        group = self.group_of(progress.name)
        try:
            self._consumer(group).commit(offsets=offsets, asynchronous=False)
        except Exception:
            log.warning(
                "committing Spark progress to a group failed",
                extra={"group": group, "batch": progress.batchId},
                exc_info=True,
            )

    def onQueryIdle(self, event: object) -> None:  # noqa: N802 - Spark's name
        """Nothing new to commit."""

    def onQueryTerminated(self, event: object) -> None:  # noqa: N802 - Spark's name
        """The group keeps the last offsets committed: its lag stays visible."""


def report_lag(spark: SparkSession, platform: Platform) -> GroupOffsetsCommitter:
    """Register the committer on ``spark``: every named query's progress goes to its group."""
    committer = GroupOffsetsCommitter(
        platform.settings.kafka.bootstrap, platform.spark.consumer_group
    )
    spark.streams.addListener(committer)
    return committer
