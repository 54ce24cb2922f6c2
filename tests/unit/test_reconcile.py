"""Waiting for reconciliation polls cheaply and answers only with exact counts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import pytest

from ghlake.hours import Hour
from ghlake.ingest import reconcile
from ghlake.ingest.reconcile import HourCounts, Reconciler
from ghlake.warehouse.rows import HourStages

HOUR = "2024-03-05-0"


class Warehouse:
    """Rows arrive 400 a poll, the last 100 of them duplicates of earlier ones."""

    def __init__(self, published: int) -> None:
        self.published = published
        self.polls = 0
        self.exact_queries = 0
        self.recorded: list[HourStages] = []

    def _rows(self) -> int:
        return min(400 * self.polls, self.published + 100)

    def rows_by_source_hour(self, hours: Collection[str]) -> dict[str, int]:
        self.polls += 1
        return {HOUR: self._rows()} if HOUR in hours else {}

    def counts_by_source_hour(self, hours: Collection[str]) -> dict[str, int]:
        self.exact_queries += 1
        exact = self._rows() - 100 if self._rows() > self.published else self._rows()
        return {HOUR: exact} if HOUR in hours else {}

    def record_hour_stages(self, stages: Sequence[HourStages]) -> int:
        self.recorded.extend(stages)
        return len(stages)


@pytest.fixture
def lake_holds_all(monkeypatch: pytest.MonkeyPatch) -> None:
    def counted(_table: Any, _store: Any, names: Collection[str]) -> dict[str, int]:
        return dict.fromkeys(names, 1000)

    monkeypatch.setattr(reconcile, "count_by_source_hour", counted)
    monkeypatch.setattr(reconcile.time, "sleep", lambda _seconds: None)


def _reconciler(warehouse: Warehouse) -> Reconciler:
    return Reconciler(None, None, None, warehouse)  # type: ignore[arg-type]


@pytest.mark.usefixtures("lake_holds_all")
def test_polls_rows_until_they_suffice_then_answers_exactly() -> None:
    warehouse = Warehouse(published=1000)
    seen: list[list[HourCounts]] = []
    counts = _reconciler(warehouse).wait({HOUR: 1000}, timeout=60, on_poll=seen.append)

    assert [c.warehouse for c in counts] == [1000]
    assert all(c.reconciled for c in counts)
    # 400, 800: too few rows, no deduplicating query; 1100 rows hold 1000 events.
    assert [s[0].warehouse for s in seen] == [400, 800, 1000]
    assert warehouse.exact_queries == 1
    assert [(s.published, s.lake, s.warehouse) for s in warehouse.recorded] == [(1000, 1000, 1000)]


@pytest.mark.usefixtures("lake_holds_all")
def test_a_timeout_answers_with_exact_counts() -> None:
    warehouse = Warehouse(published=1000)
    counts = _reconciler(warehouse).wait({Hour.parse(HOUR): 1000}, timeout=0)

    assert warehouse.polls == 1
    assert warehouse.exact_queries == 1
    assert [(c.published, c.lake, c.warehouse) for c in counts] == [(1000, 1000, 400)]
    assert not counts[0].reconciled
