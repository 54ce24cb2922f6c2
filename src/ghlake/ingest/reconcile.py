"""Reconciliation: per hour, what was published against what the lake and the warehouse hold.

The ledger says how many events each GH Archive hour put on the topic; the lake
counts them in one snapshot of its Delta table (from the log's statistics,
reading the ``source_hour`` column only where a file mixes hours) and the
warehouse with a deduplicating
query, both by the event's source hour. An hour is reconciled when all three
agree. Hours the ledger holds without events (missing, corrupt) are left out.

Each finished reconciliation is recorded in the warehouse's ``hour_stages`` table, so
dashboards (Metabase's "Ingest health", the live page) show the stage counts per hour
that ``ghlake reconcile`` printed. A failed recording is logged, never fatal: the
counts are the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ghlake.errors import GhLakeError
from ghlake.hours import Hour
from ghlake.lake.reader import count_by_source_hour
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import LakeTable
from ghlake.ledger import Ledger
from ghlake.warehouse.client import WarehouseClient
from ghlake.warehouse.rows import HourStages

__all__ = ["HourCounts", "Reconciler"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HourCounts:
    """One hour seen from each stage: what was published, what the lake and warehouse hold."""

    hour: Hour
    published: int
    lake: int
    warehouse: int

    @property
    def reconciled(self) -> bool:
        """Whether every stage holds exactly what was published."""
        return self.published == self.lake == self.warehouse


class Reconciler:
    """Counts each hour in the ledger, the lake and the warehouse."""

    def __init__(
        self, ledger: Ledger, table: LakeTable, store: ObjectStore, warehouse: WarehouseClient
    ) -> None:
        self.ledger = ledger
        self.table = table
        self.store = store
        self.warehouse = warehouse

    def counts(self, published: Mapping[Hour, int] | Mapping[str, int]) -> list[HourCounts]:
        """Compare what was published per hour with the lake and the warehouse."""
        return self._counts(published, self.warehouse.counts_by_source_hour)

    def progress(self, published: Mapping[Hour, int] | Mapping[str, int]) -> list[HourCounts]:
        """:meth:`counts`, but the warehouse's rows before deduplication (an upper bound).

        Cheap enough to poll every second while ingest runs: deduplicating reads the whole
        table's sorting key, which on a day of events costs the warehouse more than
        ingesting it.
        """
        return self._counts(published, self.warehouse.rows_by_source_hour)

    def _counts(
        self,
        published: Mapping[Hour, int] | Mapping[str, int],
        warehouse_counts: Callable[[set[str]], dict[str, int]],
    ) -> list[HourCounts]:
        expected = {Hour.parse(hour): count for hour, count in published.items()}
        names = {hour.name for hour in expected}
        lake = count_by_source_hour(self.table, self.store, names)
        warehouse = warehouse_counts(names)
        return [
            HourCounts(hour, expected[hour], lake.get(hour.name, 0), warehouse.get(hour.name, 0))
            for hour in sorted(expected)
        ]

    def reconcile(self, first: Hour, last: Hour) -> list[HourCounts]:
        """Per hour of the ledger in ``first..last``: published, in the lake, in the warehouse."""
        published = {r.hour: r.published for r in self.ledger.hours(first, last) if r.published}
        return self.record(self.counts(published)) if published else []

    def wait(
        self,
        published: Mapping[Hour, int] | Mapping[str, int],
        timeout: float = 180,
        on_poll: Callable[[list[HourCounts]], None] | None = None,
    ) -> list[HourCounts]:
        """Poll until the lake and warehouse hold what was published, or time out.

        Each poll is :meth:`progress`; once every stage shows enough (or time is up) it
        counts exactly (:meth:`counts`), and only exact counts are returned and recorded.
        """
        deadline = time.monotonic() + timeout
        while True:
            last = time.monotonic() >= deadline
            counts = self.progress(published)
            if last or all(c.lake >= c.published and c.warehouse >= c.published for c in counts):
                counts = self.counts(published)
            if on_poll is not None:
                on_poll(counts)
            if last or all(c.reconciled for c in counts):
                return self.record(counts)
            time.sleep(1.0)

    def record(self, counts: list[HourCounts]) -> list[HourCounts]:
        """Store ``counts`` in the warehouse's ``hour_stages`` (logged if not); return them."""
        stages = [
            HourStages(c.hour.name, f"{c.hour.start:%Y-%m-%d %H:%M:%S}", c.published, c.lake,
                       c.warehouse)
            for c in counts
        ]  # fmt: skip
        try:
            self.warehouse.record_hour_stages(stages)
        except GhLakeError as exc:
            log.warning(
                "reconciliation not recorded in the warehouse",
                extra={"hours": len(stages), "error": str(exc)},
            )
        return counts
