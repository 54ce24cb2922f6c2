"""Publishing GH Archive lines to the events topic, unchanged, without loss.

The producer is idempotent with ``acks=all``: the broker de-duplicates
retried batches, so each send lands once. Each message is the original JSON
line; the key is the repository id (per-repository ordering); headers carry
provenance (``source``, ``hour``, ``file_time``, ``line``, ``part``). Lines
that are not events go to the dead-letter topic with a ``reason`` header.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from ghlake.errors import ServiceError, Transient
from ghlake.events.provenance import Provenance
from ghlake.settings import KafkaSettings
from ghlake.sources.lines import LineOutcome, classify_lines

__all__ = [
    "DeliveryError",
    "EventPublisher",
    "Headers",
    "Publication",
    "PublishCancelledError",
    "PublishResult",
]

ProgressCallback = Callable[[int, int], None]  # (lines done, bytes done)
Headers = list[tuple[str, str | bytes | None]]


class DeliveryError(ServiceError, Transient):
    """The broker did not acknowledge some messages; the hour must be published again."""


class PublishCancelledError(ServiceError):
    """Publishing stopped on request; what was sent before is acknowledged."""


@dataclass(frozen=True)
class PublishResult:
    """What one publish call did. ``valid + dead_lettered == lines``."""

    lines: int
    published: int  # messages on the events topic: valid + recovered
    dead_lettered: int  # lines sent to the dead-letter topic
    bytes: int
    seconds: float
    valid: int = 0
    recovered: int = 0  # events recovered from the tail of a merged line
    duplicates: int = 0  # lines dead-lettered as duplicates of an earlier line
    skipped: int = 0  # outcomes already delivered by an interrupted earlier attempt
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)  # partition -> first, last

    @property
    def events_per_second(self) -> float:
        """Published events per second of wall time."""
        return self.published / self.seconds if self.seconds > 0 else 0.0


class _Tally:
    """Counts of one publish call, filled as outcomes pass and deliveries come back."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.lines = self.valid = self.recovered = self.dead = self.duplicates = 0
        self.skipped = self.size = self.sent = self.delivered = 0
        self.offsets: dict[int, tuple[int, int]] = {}
        self.failures: list[str] = []

    def count(self, outcome: LineOutcome) -> None:
        if outcome.part == 0:
            self.lines += 1
            self.size += len(outcome.value)
        if outcome.kind == "valid":
            self.valid += 1
        elif outcome.kind == "recovered":
            self.recovered += 1
        elif outcome.part == 0:
            self.dead += 1
            self.duplicates += outcome.reason.startswith("duplicate")

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.failures.append(_failure(error, message))
            return
        self.delivered += 1
        partition, offset = message.partition(), message.offset()
        if message.topic() == self.topic and partition is not None and offset is not None:
            first, last = self.offsets.get(partition, (offset, offset))
            self.offsets[partition] = (min(first, offset), max(last, offset))


def _failure(error: KafkaError, message: Message) -> str:
    """One failed delivery, said so that the operator knows where to look."""
    text = f"partition {message.partition()}: {error.str()}"
    if error.code() == KafkaError._MSG_TIMED_OUT:
        # acks=all: a partition with fewer live in-sync replicas than min.insync.replicas
        # (two brokers of three down) refuses every write until they are back.
        text += (
            " (no acknowledgement within delivery.timeout.ms: the partition's leader is"
            " unreachable or has fewer in-sync replicas than min.insync.replicas)"
        )
    return text


@dataclass(frozen=True)
class Publication:
    """One hour's messages, handed to the producer; answered once each has its delivery report."""

    provenance: Provenance
    tally: _Tally
    started: float  # perf_counter when sending began

    @property
    def answered(self) -> bool:
        """Whether the broker has acknowledged or refused every message sent."""
        return self.tally.delivered + len(self.tally.failures) >= self.tally.sent


class EventPublisher:
    """An idempotent producer for the events topic and its dead-letter topic."""

    def __init__(self, kafka: KafkaSettings, overrides: dict[str, object] | None = None) -> None:
        self.bootstrap = kafka.bootstrap
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
        self._failures: list[str] = []

    def _produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: Headers,
        on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=headers,
                    on_delivery=on_delivery or self._on_delivery,
                )
                return
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                self._producer.poll(0.05)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failures.append(_failure(error, message))

    def send(
        self,
        outcomes: Iterable[LineOutcome],
        provenance: Provenance,
        *,
        skip: Collection[str] = (),
        progress: ProgressCallback | None = None,
        before_send: Callable[[LineOutcome], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Publication:
        """Queue classified lines for the broker and return without waiting for answers.

        The answers come back while later calls send (a range's next hour goes out
        while this one's last batches are acknowledged); :meth:`settle` waits for them.
        ``skip`` holds the :attr:`LineOutcome.message_id` of messages an interrupted
        earlier attempt already delivered. ``should_stop`` is polled as lines pass;
        when it answers True the messages sent so far are settled and
        :class:`PublishCancelledError` is raised.
        """
        publication = Publication(provenance, _Tally(self.topic), time.perf_counter())
        tally = publication.tally
        base: Headers = [
            ("source", provenance.source.encode()),
            ("hour", provenance.hour.encode()),
            ("file_time", provenance.file_time.encode()),
        ]
        for outcome in outcomes:
            tally.count(outcome)
            if skip and outcome.message_id in skip:
                tally.skipped += 1
                continue
            if before_send is not None:
                before_send(outcome)
            headers: Headers = [*base, ("line", str(outcome.line).encode())]
            if outcome.part:
                headers.append(("part", str(outcome.part).encode()))
            if outcome.kind == "dead":
                headers.append(("reason", outcome.reason.encode()))
                self._produce(
                    self.dead_letter_topic, outcome.value, None, headers, tally.on_delivery
                )
            else:
                self._produce(self.topic, outcome.value, outcome.key, headers, tally.on_delivery)
            tally.sent += 1
            if tally.sent % 2000 == 0:
                self._producer.poll(0)
                if progress is not None:
                    progress(tally.lines, tally.size)
                if should_stop is not None and should_stop():
                    self.settle(publication)
                    raise PublishCancelledError(
                        f"hour {provenance.hour}: stopped at line {outcome.line}"
                    )
        if progress is not None:
            progress(tally.lines, tally.size)
        return publication

    def settle(self, publication: Publication, timeout: float = 300) -> PublishResult:
        """Serve delivery reports until the broker answered for every message of ``publication``.

        Raises :class:`DeliveryError` when any was refused or unanswered within ``timeout``.
        """
        tally, hour = publication.tally, publication.provenance.hour
        deadline = time.monotonic() + timeout
        while not publication.answered and time.monotonic() < deadline:
            self._producer.poll(0.05)
        if tally.failures:
            raise DeliveryError(
                f"hour {hour}: {len(tally.failures)} deliveries failed; first: {tally.failures[0]}"
            )
        if tally.delivered != tally.sent:
            raise DeliveryError(
                f"hour {hour}: {tally.sent - tally.delivered} of {tally.sent} messages"
                f" were not acknowledged by the broker within {timeout:.0f}s"
            )
        return PublishResult(
            lines=tally.lines,
            published=tally.valid + tally.recovered,
            dead_lettered=tally.dead,
            bytes=tally.size,
            seconds=time.perf_counter() - publication.started,
            valid=tally.valid,
            recovered=tally.recovered,
            duplicates=tally.duplicates,
            skipped=tally.skipped,
            offsets=dict(tally.offsets),
        )

    def publish(
        self,
        outcomes: Iterable[LineOutcome],
        provenance: Provenance,
        progress: ProgressCallback | None = None,
    ) -> PublishResult:
        """Send classified lines and return once the broker acknowledged every message."""
        return self.settle(self.send(outcomes, provenance, progress=progress))

    def publish_lines(
        self,
        lines: Iterable[bytes],
        provenance: Provenance,
        progress: ProgressCallback | None = None,
    ) -> PublishResult:
        """Classify raw lines (see :func:`classify_lines`) and publish them."""
        return self.publish(classify_lines(lines), provenance, progress)

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
