"""Whole batches of the events topic for the lake writer, from a librdkafka consumer.

Faust's per-message stream path (an agent iterating the topic) costs about 150 µs
per message on these machines: bare ``noack_take`` with acks reads 6-7k events/s,
where aiokafka's ``getmany`` reads 120k/s and kafka-consumer-perf-test 130k/s
(bench/lake.py). The lake writer needs whole batches, not messages, so each
worker takes them from a librdkafka consumer in the lake writers' consumer group
and Faust stays the worker around it (web server, health, metrics, lifecycle).

The loop is sequential: take a batch (up to ``batch_max_events`` events or
``batch_max_seconds`` after its first), write it through :class:`LakeSink`
(which returns once its files and offsets are committed to the Delta table),
commit its Kafka offsets, take the next. On every assignment each partition
is sought to the offset after the one the table's transaction holds
(:mod:`ghlake.lake.checkpoint`): the table, not the group's committed
offsets, says where a partition resumes. librdkafka runs rebalance callbacks only inside
``consume()``, which the loop calls while it takes a batch, never while it
writes one: a partition revoked while a batch is being taken leaves the batch
(its records are not written here; the new owner reads them from the committed
offset), so each partition has one writer at a time, the condition of
:mod:`ghlake.lake.checkpoint`.

A batch whose store is down is retried, and between the retries the consumer
keeps answering its group (its partitions paused, so nothing new is taken): a
long outage does not cost the worker its partitions, and were one of the
batch's partitions revoked anyway (its session lost, an operator's
reassignment), the batch is abandoned before another write, its offsets are
not committed, and the partitions still held are read again from its start.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ghlake.errors import GhLakeError
from ghlake.kafka.ranges import TopicRecord
from ghlake.lake.sink import LakeMetrics, LakeSink
from ghlake.lake.writer import BatchAbandonedError
from ghlake.settings import Settings

__all__ = ["BatchAbandonedError", "LakeConsumer"]

log = logging.getLogger(__name__)

_TAKE_CHUNK = 10_000


class LakeConsumer:
    """One lake writer's consumer: batches in, sink, offsets committed after the sink."""

    def __init__(
        self,
        settings: Settings,
        sink: LakeSink,
        metrics: LakeMetrics,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        self.topic = settings.kafka.topic
        # Fault injection for the kill -9 tests: a window between a batch's table commit
        # and its offset commit that a test can hit deterministically. None in production.
        self.before_commit = before_commit
        self.lake = settings.lake
        self.sink = sink
        self.metrics = metrics
        self._stop = threading.Event()
        self._assigned: set[int] = set()
        self._revoked: set[int] = set()  # partitions revoked since the batch began
        self._lag_measured = 0.0
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap,
                "group.id": self.lake.consumer_group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": self.lake.session_timeout_ms,
                "heartbeat.interval.ms": self.lake.session_timeout_ms // 5,
                "max.poll.interval.ms": self.lake.max_stall_seconds * 1000,
                "partition.assignment.strategy": "cooperative-sticky",
                "fetch.max.bytes": 16 * 1024 * 1024,
                "max.partition.fetch.bytes": 2 * 1024 * 1024,
                "queued.max.messages.kbytes": 16 * 1024,
                "queued.min.messages": 10_000,
                "message.max.bytes": 10_485_760,
            }
        )

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand is stored and committed."""
        self._stop.set()

    def run(self) -> None:
        """Take, write and commit batches until :meth:`stop`; then leave the group."""
        self._consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)  # fmt: skip
        try:
            while not self._stop.is_set():
                with _batch_memory():
                    records = self._take()
                    if records:
                        try:
                            self._write(records)
                        except BatchAbandonedError as exc:
                            self._rewind(records, str(exc))
                    del records
                self._measure_lag()
        finally:
            self._consumer.close()  # leaves the group: the partitions move at once

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Take the partitions from the offset after the table's transaction version.

        Reading the table may fail (MinIO down): the partitions then start from the
        group's committed offsets, and the writer's step 2 skips whatever the table
        holds already, so nothing is written twice either way.
        """
        numbers = sorted(tp.partition for tp in partitions)
        try:
            stored = self.sink.writer.table.offsets(self.topic, numbers)
        except GhLakeError as exc:
            log.warning(
                "partitions start from the committed offsets: the table is not readable",
                extra={"partitions": numbers, "error": str(exc)},
            )
            consumer.incremental_assign(partitions)
        else:
            starts = [TopicPartition(self.topic, p, o + 1) if o >= 0
                      else TopicPartition(self.topic, p) for p, o in stored.items()]  # fmt: skip
            consumer.incremental_assign(starts)
            # The group's committed offsets follow the table: a batch in the table whose
            # Kafka commit was lost (its worker killed in between) would otherwise show as
            # lag to every monitor until the next batch. Never ahead of the table.
            known = [tp for tp in starts if tp.offset >= 0]
            if known:
                consumer.commit(offsets=known, asynchronous=True)
            log.info(
                "partitions assigned; each starts after its offset in the table",
                extra={"partitions": numbers, "offsets": _by_partition(stored, 1)},
            )
        self._assigned |= set(numbers)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {tp.partition for tp in partitions}
        self._assigned -= gone
        self._revoked |= gone
        labels = self._lag_labels()
        for partition in gone:
            self.sink.last_offsets.pop(partition, None)
            if str(partition) in labels:
                self.metrics.lag.remove(str(partition))
        log.info("partitions revoked", extra={"partitions": sorted(gone)})

    def _lag_labels(self) -> set[str]:
        return {s.labels["partition"] for f in self.metrics.lag.collect() for s in f.samples}

    def _take(self) -> list[TopicRecord]:
        records: list[TopicRecord] = []
        self._revoked.clear()
        deadline: float | None = None
        limit = self.lake.batch_max_events
        while len(records) < limit and not self._stop.is_set():
            wait = 1.0 if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                break
            messages = self._consumer.consume(
                min(_TAKE_CHUNK, limit - len(records)), min(wait, 1.0)
            )
            records += _records(messages)
            if self._revoked:  # a rebalance ran inside consume()
                records = self._drop_revoked(records)
            if not messages:
                if deadline is None:
                    return records  # idle: let the caller measure lag, check for stop
                continue
            if deadline is None:
                deadline = time.monotonic() + self.lake.batch_max_seconds
        return records

    def _drop_revoked(self, records: list[TopicRecord]) -> list[TopicRecord]:
        """``records`` less those of partitions revoked while the batch was taken.

        Their new owner reads them from the committed offset; were a partition given
        back to this worker, its messages would come again from there too.
        """
        revoked, self._revoked = self._revoked, set()
        kept = [r for r in records if r.partition not in revoked]
        if len(kept) < len(records):
            log.info(
                "records of revoked partitions left to their new owner",
                extra={"records": len(records) - len(kept), "partitions": sorted(revoked)},
            )
        return kept

    def _write(self, records: Sequence[TopicRecord]) -> None:
        self._revoked.clear()
        result = self.sink.write_batch(records, wait=self._wait_answering_group)
        last: dict[int, int] = {}
        for record in records:
            if record.offset > last.get(record.partition, -1):
                last[record.partition] = record.offset
        if self.before_commit is not None:
            self.before_commit()
        self._commit(last)
        log.info(
            "batch stored",
            extra={"records": len(records), "rows": result.rows, "files": len(result.files),
                   "dead_letters": len(result.dead_letters), "skipped": result.skipped,
                   "duplicates": result.duplicates, "version": result.version,
                   "partitions": sorted(last),
                   "first_offset": records[0].offset, "last_offset": records[-1].offset},
        )  # fmt: skip

    def _wait_answering_group(self, seconds: float) -> None:
        """Sleep between two attempts of a failing step while serving the group.

        The assigned partitions are paused, so ``consume()`` runs rebalances and resets
        the poll interval without taking records; any it returns (fetched before the
        pause) are read again later. Raises :class:`BatchAbandonedError` when a
        rebalance took partitions away meanwhile.
        """
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self._consumer.pause(self._consumer.assignment())
            try:
                early = self._consumer.consume(_TAKE_CHUNK, min(remaining, 1.0))
                self._seek(_first_offsets(_records(early)))
            finally:
                self._consumer.resume(self._consumer.assignment())
            if self._revoked:
                revoked = sorted(self._revoked)
                raise BatchAbandonedError(f"partitions {revoked} were revoked during a stall")

    def _rewind(self, records: Sequence[TopicRecord], reason: str) -> None:
        """Set the partitions still held back to the abandoned batch's first offsets."""
        held = {p: o for p, o in _first_offsets(records).items() if p in self._assigned}
        self._seek(held)
        log.warning(
            "batch abandoned; partitions still held are read again from its start",
            extra={"reason": reason, "records": len(records), "offsets": _by_partition(held)},
        )

    def _seek(self, offsets: dict[int, int]) -> None:
        """Make each partition's next record the one at its offset in ``offsets``."""
        for partition, offset in sorted(offsets.items()):
            self._consumer.seek(TopicPartition(self.topic, partition, offset))

    def _commit(self, last: dict[int, int]) -> None:
        offsets = [TopicPartition(self.topic, p, o + 1) for p, o in sorted(last.items())]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # The batch is in the table with its offsets: whoever reads these records
            # again seeks past them or skips them, and the next commit covers them too.
            log.warning(
                "offset commit failed; the table's transactions cover the batch",
                extra={"error": str(exc), "offsets": _by_partition(last, 1)},
            )

    def _measure_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_measured < self.lake.lag_interval_seconds:
            return
        self._lag_measured = now
        for partition in sorted(self._assigned):
            try:
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), timeout=2, cached=False
                )
                done = self.sink.last_offsets.get(partition)
                if done is None:
                    [position] = self._consumer.committed(
                        [TopicPartition(self.topic, partition)], timeout=2
                    )
                    following = max(position.offset, 0)
                else:
                    following = done + 1
            except KafkaException as exc:
                log.info("lag not measured", extra={"partition": partition, "error": str(exc)})
                continue
            self.metrics.lag.labels(str(partition)).set(max(0, high - following))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    return trim if callable(trim) else None


@contextlib.contextmanager
def _batch_memory() -> Iterator[None]:
    """Memory handling around one batch: no cyclic GC during it, memory returned after.

    While a batch's 100k records and their rows are alive, every generation-2 pass of
    the cyclic collector walks all of them; the batch's objects hold no cycles
    (reference counting frees them), so the collector waits until the batch is done.
    Afterwards the freed memory goes back to the system, which glibc's arenas would
    otherwise keep, so a worker's resident size does not ratchet up batch after batch.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


def _first_offsets(records: Sequence[TopicRecord]) -> dict[int, int]:
    """Each partition's first offset among ``records`` (they come in offset order)."""
    firsts: dict[int, int] = {}
    for record in records:
        firsts.setdefault(record.partition, record.offset)
    return firsts


def _by_partition(offsets: dict[int, int], add: int = 0) -> dict[str, int]:
    """Offsets keyed by partition as text (JSON log fields need string keys)."""
    return {str(p): o + add for p, o in sorted(offsets.items())}


def _records(messages: Sequence[Message]) -> list[TopicRecord]:
    out: list[TopicRecord] = []
    append = out.append
    for message in messages:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error", extra={"error": str(error)})
            continue
        headers = message.headers()
        append(
            TopicRecord(
                message.partition(),  # type: ignore[arg-type]
                message.offset(),  # type: ignore[arg-type]
                message.value() or b"",
                dict(headers) if headers else {},  # type: ignore[arg-type]
            )
        )
    return out
