"""Publishing GH Archive lines to the events topic, unchanged, without loss.

The producer is idempotent with ``acks=all``: the broker de-duplicates
retried batches, so a delivery is exactly once per send. Each message is the
original JSON line; the key is the repository id (per-repository ordering);
headers carry provenance. A line that is not an event goes to the dead-letter
topic with the reason, never silently dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from ghlake.errors import ServiceError, Transient
from ghlake.events.identity import MalformedEventError, event_basics, parse_event
from ghlake.settings import KafkaSettings

__all__ = ["DeliveryError", "EventPublisher", "Headers", "Provenance", "PublishResult"]

ProgressCallback = Callable[[int, int], None]  # (lines done, bytes done)
Headers = list[tuple[str, str | bytes | None]]


class DeliveryError(ServiceError, Transient):
    """The broker did not acknowledge some messages; the hour must be published again."""


@dataclass(frozen=True)
class Provenance:
    """Where a batch of lines came from; travels as message headers."""

    source: str  # "gharchive" or "live"
    hour: str  # GH Archive hour name, e.g. 2015-01-01-1
    file_time: str  # the hour's start, ISO 8601 UTC


@dataclass(frozen=True)
class PublishResult:
    """What one publish call did."""

    lines: int
    published: int
    dead_lettered: int
    bytes: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        """Published events per second of wall time."""
        return self.published / self.seconds if self.seconds > 0 else 0.0


class EventPublisher:
    """An idempotent producer for the events topic and its dead-letter topic."""

    def __init__(self, kafka: KafkaSettings, overrides: dict[str, object] | None = None) -> None:
        self.topic = kafka.topic
        self.dead_letter_topic = kafka.dead_letter_topic
        config: dict[str, object] = {
            "bootstrap.servers": kafka.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "zstd",
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "message.max.bytes": 10_000_000,
            "delivery.timeout.ms": 300_000,
        }
        config.update(overrides or {})
        self._producer = Producer(config)
        self._delivered = 0
        self._failures: list[str] = []

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self._delivered += 1
        else:
            self._failures.append(f"partition {message.partition()}: {error.str()}")

    def _produce(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery
                )
                return
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                self._producer.poll(0.05)

    def publish_lines(
        self,
        lines: Iterable[bytes],
        provenance: Provenance,
        progress: ProgressCallback | None = None,
    ) -> PublishResult:
        """Publish every line; return when the broker has acknowledged all of them."""
        started = time.perf_counter()
        delivered_before = self._delivered
        base_headers: Headers = [
            ("source", provenance.source.encode()),
            ("hour", provenance.hour.encode()),
            ("file_time", provenance.file_time.encode()),
        ]
        count = published = dead = size = 0
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip(b"\r")
            count += 1
            size += len(line)
            headers: Headers = [*base_headers, ("line", str(number).encode())]
            try:
                basics = event_basics(parse_event(line))
            except MalformedEventError as exc:
                self.send_dead_letter(line, headers, exc.reason if line.strip() else "empty line")
                dead += 1
            else:
                key = str(basics.repo_id).encode() if basics.repo_id is not None else None
                self._produce(self.topic, line, key or basics.repo_name.encode() or None, headers)
                published += 1
            if number % 2000 == 0:
                self._producer.poll(0)
                if progress is not None:
                    progress(number, size)
        self.flush()
        if progress is not None:
            progress(count, size)
        acknowledged = self._delivered - delivered_before
        if acknowledged != published + dead:
            raise DeliveryError(
                f"hour {provenance.hour}: {published + dead - acknowledged} of {published + dead} "
                "messages were not acknowledged by the broker"
            )
        return PublishResult(count, published, dead, size, time.perf_counter() - started)

    def send_dead_letter(self, value: bytes, headers: Headers, reason: str) -> None:
        """Queue ``value`` for the dead-letter topic with its provenance and the reason."""
        self._produce(self.dead_letter_topic, value, None, [*headers, ("reason", reason.encode())])

    def flush(self, timeout: float = 300) -> None:
        """Wait for every queued message; raise :class:`DeliveryError` on any failure."""
        remaining = self._producer.flush(timeout)
        if remaining:
            raise DeliveryError(f"{remaining} messages still queued after {timeout:.0f}s")
        if self._failures:
            failures, self._failures = self._failures, []
            raise DeliveryError(f"{len(failures)} deliveries failed; first: {failures[0]}")
