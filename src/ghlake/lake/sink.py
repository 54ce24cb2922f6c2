"""The lake sink: a batch in, one Delta commit and dead letters out, retried until stored.

This is everything the lake writer does between "a batch arrived" and "its
offsets may be committed", in the order of :mod:`ghlake.lake.checkpoint`:
recover the partitions from the table, normalize, deduplicate and encode,
store dead-letter marks and files, publish dead letters, commit the table.
Each step that talks to MinIO or Kafka is retried with capped backoff until it
succeeds (the batch's offsets stay uncommitted meanwhile), so a batch is never
acknowledged without its commit, and a store that is down stalls the writer
instead of losing data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ghlake.errors import StorageError, is_transient
from ghlake.kafka.producer import EventPublisher, Headers
from ghlake.kafka.ranges import TopicRecord
from ghlake.kafka.readback import offsets_since, read_back
from ghlake.lake.writer import BatchResult, DeadLetter, LakeWriter

__all__ = ["LakeMetrics", "LakeSink"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Reading the dead-letter topic back from an interrupted batch's start: its letters were
# produced after the mark was stored; the margin covers clocks of other writer hosts.
_READ_BACK_MARGIN = timedelta(minutes=5)


@dataclass
class LakeMetrics:
    """Prometheus metrics of one lake writer process."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_in = Counter("ghlake_lake_events_in", "Records received", registry=r)
        self.rows_written = Counter(
            "ghlake_lake_rows_written", "Events written to Parquet", registry=r
        )
        self.files_written = Counter(
            "ghlake_lake_files_written", "Parquet objects written", registry=r
        )
        self.dead_letters = Counter(
            "ghlake_lake_dead_letters", "Records sent to the DLQ", registry=r
        )
        self.skipped = Counter(
            "ghlake_lake_records_already_stored",
            "Records redelivered after a crash and found in the lake already", registry=r,
        )  # fmt: skip
        self.duplicates = Counter(
            "ghlake_lake_duplicate_events_dropped",
            "Events not written because the table held their identity already", registry=r,
        )  # fmt: skip
        self.table_version = Gauge(
            "ghlake_lake_table_version", "The Delta table version of the last commit", registry=r
        )
        self.store_retries = Counter(
            "ghlake_lake_store_retries", "Failed store attempts retried", registry=r
        )
        self.batch_seconds = Histogram(
            "ghlake_lake_batch_seconds", "Time to write one batch", registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )  # fmt: skip
        self.stalled = Gauge("ghlake_lake_stalled", "1 while the store refuses writes", registry=r)
        self.lag = Gauge(
            "ghlake_lake_consumer_lag",
            "Messages behind the partition's end (assigned partitions)", ["partition"],
            registry=r,
        )  # fmt: skip
        self.stored_offset = Gauge(
            "ghlake_lake_stored_offset",
            "Last offset whose event is in the lake", ["partition"], registry=r,
        )  # fmt: skip
        self.last_batch = Gauge(
            "ghlake_lake_last_batch_timestamp_seconds",
            "When the last batch was stored (Unix time)", registry=r,
        )  # fmt: skip


class LakeSink:
    """Writes batches through a :class:`LakeWriter` and dead letters through a publisher."""

    def __init__(
        self,
        writer: LakeWriter,
        dead_letters: EventPublisher,
        metrics: LakeMetrics,
        *,
        retry_max_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        after_dead_letters: Callable[[], None] | None = None,
    ) -> None:
        self.writer = writer
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.retry_max_seconds = retry_max_seconds
        self.sleep = sleep
        # Called once a batch's dead letters are published (fault injection, tracing).
        self.after_dead_letters = after_dead_letters
        self.last_error: str | None = None
        self.last_offsets: dict[int, int] = {}  # partition -> last offset handled

    def _retry(
        self,
        step: str,
        records: Sequence[TopicRecord],
        action: Callable[[], T],
        wait: Callable[[float], None],
    ) -> T:
        attempt = 0
        while True:
            try:
                value = action()
            except Exception as exc:
                # Transient or not, a storage failure must not let the batch be acknowledged
                # without its files; an operator fixing credentials or disk unblocks it.
                if not (isinstance(exc, StorageError) or is_transient(exc)):
                    raise
                attempt += 1
                self.last_error = f"{step}: {exc}"
                self.metrics.stalled.set(1)
                self.metrics.store_retries.inc()
                delay = min(self.retry_max_seconds, 0.25 * 2**attempt)
                log.warning(
                    "lake step failed; retrying",
                    extra={"step": step, "attempt": attempt, "delay_s": delay, "error": str(exc),
                           "partition": records[0].partition, "first_offset": records[0].offset,
                           "records": len(records)},
                )  # fmt: skip
                wait(delay)
            else:
                if self.last_error is not None:  # the store answers again
                    self.last_error = None
                    self.metrics.stalled.set(0)
                return value

    def _publish(self, letters: Sequence[DeadLetter], earlier: dict[int, datetime]) -> None:
        """Publish ``letters``, less those an earlier, interrupted attempt published.

        ``earlier`` maps a partition to the start of an attempt at this batch that may
        have published some of its letters (a crashed worker's dead-letter mark, or a
        failed try of this one); a failure here adds this attempt, so a retry reads it
        back too.
        """
        started = datetime.now(UTC)
        try:
            self._publish_once(letters, earlier)
        except BaseException:
            for partition in {letter.record.partition for letter in letters}:
                earlier.setdefault(partition, started)
            raise

    def _publish_once(self, letters: Sequence[DeadLetter], earlier: Mapping[int, datetime]) -> None:
        published = self._published_before(letters, earlier)
        topic = self.writer.topic.encode()
        for letter in letters:
            record = letter.record
            if (record.partition, record.offset) in published:
                continue
            headers: Headers = [*record.headers.items(), ("kafka_topic", topic),
                       ("kafka_partition", str(record.partition).encode()),
                       ("kafka_offset", str(record.offset).encode())]  # fmt: skip
            self.dead_letters.send_dead_letter(record.value, headers, letter.reason)
        self.dead_letters.flush()
        if published:
            log.info(
                "dead letters of an interrupted batch found published already",
                extra={"dead_letters": len(published),
                       "partitions": sorted({p for p, _ in published})},
            )  # fmt: skip

    def _published_before(
        self, letters: Sequence[DeadLetter], earlier: Mapping[int, datetime]
    ) -> set[tuple[int, int]]:
        """(partition, offset) of ``letters`` on the dead-letter topic since ``earlier``."""
        wanted = {(r.partition, r.offset) for r in (d.record for d in letters)
                  if r.partition in earlier}  # fmt: skip
        if not wanted:
            return set()
        publisher = self.dead_letters
        since = min(earlier[p] for p, _ in wanted) - _READ_BACK_MARGIN
        starts = offsets_since(publisher.bootstrap, [publisher.dead_letter_topic], since)
        topic = self.writer.topic.encode()

        def identify(headers: Mapping[str, bytes]) -> str | None:
            if headers.get("kafka_topic") != topic:
                return None
            partition, offset = headers.get("kafka_partition"), headers.get("kafka_offset")
            return f"{(partition or b'').decode()}:{(offset or b'').decode()}"

        found = read_back(publisher.bootstrap, starts, identify, "the lake's dead letters")
        return {key for key in wanted if f"{key[0]}:{key[1]}" in found}

    def write_batch(
        self, records: Sequence[TopicRecord], wait: Callable[[float], None] | None = None
    ) -> BatchResult:
        """Store ``records``; return only once their commit and dead letters are durable.

        ``wait`` sleeps between the retries of a failing step (default: ``self.sleep``);
        the consumer passes one that keeps answering its group meanwhile, and that raises
        to abandon the batch if its partitions are taken away.
        """
        wait = wait or self.sleep
        if not records:
            return BatchResult((), ())
        self.metrics.events_in.inc(len(records))
        started = time.perf_counter()
        writer = self.writer
        partitions = {r.partition for r in records}
        # 1. recover; 2. skip, normalize, deduplicate, encode (reads the table's keys)
        recoveries = self._retry("recovering", records, lambda: writer.recover(partitions), wait)
        stored = {p: r.last_offset for p, r in recoveries.items()}
        batch = self._retry("preparing", records, lambda: writer.prepare(records, stored), wait)
        lettered = sorted({d.record.partition for d in batch.dead_letters})
        # Only an attempt that left a mark can have published letters without committing.
        earlier = {p: r.interrupted_at for p, r in recoveries.items() if r.interrupted_at}
        spans = {part.partition: part for part in batch.partitions}

        def mark() -> None:  # 3.
            for p in lettered:
                if p not in earlier:
                    writer.marks.begin(p, spans[p].first, spans[p].last)

        if lettered:
            self._retry("marking dead letters", records, mark, wait)
        self._retry("writing files", records, lambda: writer.upload(batch), wait)  # 4.
        if batch.dead_letters:  # 5.
            self._retry(
                "publishing dead letters",
                records,
                lambda: self._publish(batch.dead_letters, earlier),
                wait,
            )
            if self.after_dead_letters is not None:
                self.after_dead_letters()
        version = self._retry("committing", records, lambda: writer.commit(batch), wait)  # 6.

        def unmark() -> None:
            for p in sorted(set(lettered) | set(earlier)):
                writer.marks.clear(p)

        if lettered or earlier:
            self._retry("clearing dead-letter marks", records, unmark, wait)

        result = BatchResult(
            batch.files, batch.dead_letters, batch.skipped, batch.duplicates, version
        )
        m = self.metrics
        m.rows_written.inc(result.rows)
        m.files_written.inc(len(result.files))
        m.dead_letters.inc(len(result.dead_letters))
        m.skipped.inc(result.skipped)
        m.duplicates.inc(result.duplicates)
        if version is not None:
            m.table_version.set(version)
        for record in records:
            if record.offset > self.last_offsets.get(record.partition, -1):
                self.last_offsets[record.partition] = record.offset
        for part in batch.partitions:
            m.stored_offset.labels(str(part.partition)).set(part.last)
        m.batch_seconds.observe(time.perf_counter() - started)
        m.last_batch.set_to_current_time()
        return result
