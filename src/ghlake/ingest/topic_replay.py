"""Replaying the topic: rebuilding the lake, the warehouse, or both, for a time range.

After a normalizer fix, say, the last week of the warehouse is rebuilt from Kafka
without touching GH Archive. The topic retains 30 days (``GHLAKE_KAFKA__RETENTION_MS``);
a range must still be on it (:func:`ghlake.kafka.ranges.plan_range` refuses one that
is not, naming the earliest time it holds). The range is read with consumer groups
of its own, ``ghlake-topic-replay-<id>-lake`` and ``-warehouse``, so lag monitoring
shows its progress; the live consumers keep running meanwhile. Nothing ends up twice:

- **lake**: each batch goes through the lake writer's identity check and one Delta
  commit (:meth:`ghlake.lake.writer.LakeWriter.write_replayed`): events the table
  holds are not appended again, missing ones come back;
- **warehouse**: the range's rows of ``github_events`` are replaced by the rows the
  pipeline's own normalizing view makes of the messages again, and the aggregate
  tables are rebuilt for the days touched
  (:class:`ghlake.warehouse.topic_rebuild.TopicRangeRebuild`).

Before writing, each store waits (briefly) for its live consumer to have passed the
range, so the replay rebuilds what the live path already wrote.

:class:`TopicReplayJobs` runs replays asked through the API one at a time in a worker
thread, kept in the ledger (:class:`~ghlake.ledger.topic_replays.TopicReplayLog`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from ghlake.errors import GhLakeError, InvalidInputError
from ghlake.kafka.ranges import (
    RangeReader,
    TopicRange,
    delete_group,
    group_offsets,
    plan_range,
)
from ghlake.lake.writer import LakeWriter
from ghlake.ledger import JobStatus
from ghlake.ledger.topic_replays import TopicReplayLog, TopicReplayRecord
from ghlake.settings import Settings
from ghlake.warehouse.topic_rebuild import TopicRangeRebuild

__all__ = [
    "Store",
    "TopicReplayJobs",
    "TopicReplayReport",
    "TopicReplayRequest",
    "TopicReplayer",
]

log = logging.getLogger(__name__)

Store = Literal["lake", "warehouse", "both"]
STORES: tuple[str, ...] = get_args(Store)


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a time without a zone is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class TopicReplayRequest:
    """What to rebuild, from which stretch of the topic (producer times, ``[from, to)``)."""

    store: str
    from_time: datetime
    to_time: datetime

    def __post_init__(self) -> None:
        if self.store not in STORES:
            raise InvalidInputError(f"store {self.store!r} is not one of {', '.join(STORES)}")
        object.__setattr__(self, "from_time", _utc(self.from_time))
        object.__setattr__(self, "to_time", _utc(self.to_time))
        if self.to_time <= self.from_time:
            raise InvalidInputError(
                f"the range {self.from_time.isoformat()}..{self.to_time.isoformat()} is empty"
            )

    @property
    def lake(self) -> bool:
        """Whether the lake is rebuilt."""
        return self.store in ("lake", "both")

    @property
    def warehouse(self) -> bool:
        """Whether the warehouse is rebuilt."""
        return self.store in ("warehouse", "both")


@dataclass
class TopicReplayReport:
    """How far a replay is, and what it changed (the ledger's columns)."""

    messages: int = 0  # in the range
    events: int = 0  # read from the range (per store rebuilt)
    lake_added: int = 0
    lake_present: int = 0
    warehouse_deleted: int = 0
    warehouse_inserted: int = 0
    days: list[str] = field(default_factory=list)


Progress = Callable[[TopicReplayReport], None]


class TopicReplayer:
    """Rebuilds the lake and/or the warehouse from a range of the events topic.

    ``lake_writer()`` builds the writer the lake's batches go through, and
    ``warehouse_rebuild(name)`` the warehouse's staging of one replay, which it
    closes (``Platform.topic_replayer`` wires both).
    """

    def __init__(
        self,
        settings: Settings,
        lake_writer: Callable[[], LakeWriter],
        warehouse_rebuild: Callable[[str], TopicRangeRebuild],
        *,
        catch_up_seconds: float = 30,
    ) -> None:
        self.settings = settings
        self.lake_writer = lake_writer
        self.warehouse_rebuild = warehouse_rebuild
        self.catch_up_seconds = catch_up_seconds

    @property
    def _bootstrap(self) -> str:
        return self.settings.kafka.bootstrap

    def plan(self, request: TopicReplayRequest) -> TopicRange:
        """The range's offsets; :class:`InvalidInputError` when the topic no longer holds it."""
        topic = self.settings.kafka.topic
        return plan_range(self._bootstrap, topic, request.from_time, request.to_time)

    def run(
        self, replay_id: str, request: TopicReplayRequest, progress: Progress | None = None
    ) -> TopicReplayReport:
        """Rebuild the stores ``request`` names; the report says what changed."""
        span = self.plan(request)
        report = TopicReplayReport(messages=span.messages)
        notify = progress or (lambda _: None)
        notify(report)
        log.info("topic replay started", extra={"replay": replay_id, "store": request.store,
                 "spans": span.spans(), "messages": span.messages})  # fmt: skip
        if request.lake:
            self._lake(replay_id, span, report, notify)
        if request.warehouse:
            self._warehouse(replay_id, span, report, notify)
        log.info("topic replay done", extra={"replay": replay_id, **asdict(report)})
        return report

    def _wait_for_live(self, what: str, behind: Callable[[], dict[int, int]]) -> None:
        """Wait up to ``catch_up_seconds`` until ``behind()`` (partition -> lag) is empty."""
        deadline = time.monotonic() + self.catch_up_seconds
        while lagging := behind():
            if time.monotonic() > deadline:
                log.warning("the live consumer has not passed the range; replaying anyway",
                            extra={"consumer": what, "behind": lagging})  # fmt: skip
                return
            time.sleep(0.5)

    def _lake(
        self, replay_id: str, span: TopicRange, report: TopicReplayReport, notify: Progress
    ) -> None:
        spans = span.spans()
        writer = self.lake_writer()

        def behind() -> dict[int, int]:
            stored = writer.table.offsets(span.topic, sorted(spans))
            return {p: end - 1 - stored[p] for p, (_, end) in spans.items() if stored[p] < end - 1}

        self._wait_for_live("lake writer", behind)
        group = f"ghlake-topic-replay-{replay_id}-lake"
        reader = RangeReader(self._bootstrap, group, span)
        try:
            for batch in reader.batches():
                result = writer.write_replayed(batch, replay_id)
                reader.commit(batch)
                report.events += len(batch)
                report.lake_added += result.rows
                report.lake_present += result.duplicates
                notify(report)
        finally:
            reader.close()
        delete_group(self._bootstrap, group)

    def _warehouse(
        self, replay_id: str, span: TopicRange, report: TopicReplayReport, notify: Progress
    ) -> None:
        spans = span.spans()
        if not spans:
            return
        bootstrap, live = self._bootstrap, self.settings.warehouse.consumer_group

        def behind() -> dict[int, int]:
            done = group_offsets(bootstrap, live, span.topic, sorted(spans))
            return {p: end - done[p] for p, (_, end) in spans.items() if done[p] < end}

        self._wait_for_live("warehouse pipeline", behind)
        group = f"ghlake-topic-replay-{replay_id}-warehouse"
        rebuild = self.warehouse_rebuild(f"topic_replay_{replay_id.replace('-', '')[:16]}")
        reader = RangeReader(bootstrap, group, span)
        try:
            rebuild.start()
            for batch in reader.batches():
                report.events += rebuild.stage(batch)
                reader.commit(batch)
                notify(report)
            replaced = rebuild.replace(spans)
        finally:
            reader.close()
            rebuild.drop()
            rebuild.close()
        delete_group(bootstrap, group)
        report.warehouse_deleted = replaced.deleted
        report.warehouse_inserted = replaced.inserted
        report.days = list(replaced.days)
        notify(report)


class TopicReplayJobs:
    """Topic replays asked through the API, run one at a time, kept in the ledger.

    On start, replays an earlier process left unfinished run again from the start
    (a replay is idempotent: running it twice changes nothing).
    """

    def __init__(self, replays: TopicReplayLog, replayer: TopicReplayer) -> None:
        self.replays = replays
        self.replayer = replayer
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="topic-replays", daemon=True)

    def start(self) -> int:
        """Start the worker and queue the replays an earlier process left unfinished."""
        unfinished = self.replays.unfinished()
        for record in unfinished:
            self._queue.put(record.id)
        self._thread.start()
        return len(unfinished)

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current replay (queued ones stay queued in the ledger)."""
        self._queue.put(None)
        self._thread.join(timeout)

    def submit(self, request: TopicReplayRequest) -> TopicReplayRecord:
        """Queue a replay; a range the topic no longer holds is refused here."""
        self.replayer.plan(request)
        record = self.replays.create(request.store, request.from_time, request.to_time)
        self._queue.put(record.id)
        return record

    def _work(self) -> None:
        while (replay_id := self._queue.get()) is not None:
            record = self.replays.get(replay_id)
            if record is None or record.finished:
                continue
            run_recorded(self.replays, self.replayer, record)


def run_recorded(
    replays: TopicReplayLog,
    replayer: TopicReplayer,
    record: TopicReplayRecord,
    progress: Progress | None = None,
) -> TopicReplayRecord:
    """Run the ledger's replay ``record``, its progress and outcome kept in the ledger."""
    request = TopicReplayRequest(record.store, record.from_time, record.to_time)
    replays.update(record.id, status=JobStatus.RUNNING, error=None)

    def on_progress(report: TopicReplayReport) -> None:
        replays.update(record.id, **asdict(report))
        if progress is not None:
            progress(report)

    try:
        replayer.run(record.id, request, on_progress)
    except Exception as exc:  # recorded: the caller reads the outcome from the record
        if not isinstance(exc, GhLakeError):
            log.exception("topic replay failed", extra={"replay": record.id})
        replays.update(record.id, status=JobStatus.FAILED, error=str(exc))
    else:
        replays.update(record.id, status=JobStatus.DONE)
    final = replays.get(record.id)
    assert final is not None
    return final
