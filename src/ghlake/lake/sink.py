"""The lake sink: a batch in, Parquet objects and dead letters out, retried until stored.

This is everything the lake writer does between "a batch arrived" and "its
offsets may be committed". It blocks until the objects are stored: a store
that is down is retried with capped backoff (the batch's offsets stay
uncommitted meanwhile), so a batch is never acknowledged without its files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ghlake.errors import StorageError
from ghlake.kafka.producer import EventPublisher, Headers
from ghlake.lake.writer import BatchResult, LakeWriter, SourceRecord

__all__ = ["LakeMetrics", "LakeSink"]

log = logging.getLogger(__name__)


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
        self.store_retries = Counter(
            "ghlake_lake_store_retries", "Failed store attempts retried", registry=r
        )
        self.batch_seconds = Histogram(
            "ghlake_lake_batch_seconds", "Time to write one batch", registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )  # fmt: skip
        self.stalled = Gauge("ghlake_lake_stalled", "1 while the store refuses writes", registry=r)


class LakeSink:
    """Writes batches through a :class:`LakeWriter` and dead letters through a publisher."""

    def __init__(
        self,
        writer: LakeWriter,
        dead_letters: EventPublisher,
        metrics: LakeMetrics,
        retry_max_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.writer = writer
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.retry_max_seconds = retry_max_seconds
        self.sleep = sleep
        self.last_error: str | None = None

    def write_batch(self, records: Sequence[SourceRecord]) -> BatchResult:
        """Store ``records``; return only once their objects and dead letters are durable."""
        self.metrics.events_in.inc(len(records))
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                result = self.writer.write(records)
                break
            except StorageError as exc:
                # Transient or not, the batch must not be acknowledged without its files;
                # an operator fixing credentials or disk unblocks it without a restart.
                attempt += 1
                self.last_error = str(exc)
                self.metrics.stalled.set(1)
                self.metrics.store_retries.inc()
                delay = min(self.retry_max_seconds, 0.25 * 2**attempt)
                log.warning(
                    "lake store failed; retrying",
                    extra={"attempt": attempt, "delay_s": delay, "error": str(exc),
                           "first_offset": records[0].offset, "records": len(records)},
                )  # fmt: skip
                self.sleep(delay)
        self.last_error = None
        self.metrics.stalled.set(0)
        for letter in result.dead_letters:
            headers: Headers = [*letter.record.headers.items(),
                       ("kafka_partition", str(letter.record.partition).encode()),
                       ("kafka_offset", str(letter.record.offset).encode())]  # fmt: skip
            self.dead_letters.send_dead_letter(letter.record.value, headers, letter.reason)
        if result.dead_letters:
            self.dead_letters.flush()
        self.metrics.rows_written.inc(result.rows)
        self.metrics.files_written.inc(len(result.files))
        self.metrics.dead_letters.inc(len(result.dead_letters))
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        return result
