"""Replacing the warehouse's rows of a topic range, so that nothing is counted twice.

A topic replay of the warehouse (:mod:`ghlake.ingest.topic_replay`) reads a range of
the events topic again, per partition the offsets ``[start, end)``. ClickHouse reads
it itself: a Kafka engine table of the replay's own consumer group (its offsets set
to the range's starts beforehand) and a copy of the pipeline's normalizing view
(``clickhouse/pipeline/20_events_mv.sql``, the same text, so the same rows) that
keeps only the range's messages and writes into a staging table shaped like
``github_events``. Nothing of the live pipeline changes meanwhile.

Once the group has passed every end offset, :meth:`TopicRangeRebuild.replace`:

1. notes the days and actors the range touches, in the old rows and the new ones;
2. deletes the range's rows from ``github_events`` (by ``kafka_partition`` and
   ``kafka_offset``: exactly the rows that came from those messages);
3. inserts the staged rows into ``github_events``;
4. rebuilds the aggregate tables fed by views on ``github_events`` for what was
   touched: their rows of those days (or actors) are deleted and computed again
   from ``github_events`` with the view's own query. Their states are distinct
   counts, so rows of the live pipeline that land in between fold in once.

The range's offsets are integers read from the broker; they are written into the
statements as such (the Kafka engine's view cannot take query parameters).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ghlake.errors import WarehouseError
from ghlake.settings import Settings
from ghlake.warehouse.clickhouse import ClickHouseQueries
from ghlake.warehouse.ddl import render_pipeline

__all__ = ["AGGREGATE_SCOPES", "RebuildReport", "TopicRangeRebuild", "range_condition"]

log = logging.getLogger(__name__)

Spans = Mapping[int, tuple[int, int]]  # partition -> (start, end) offsets

# How each aggregate table's rows of what a range touched are chosen, in the table and
# in github_events (read by the view's own query). A new aggregate view must say here
# how it is rebuilt: :meth:`TopicRangeRebuild.replace` refuses one it does not know.
AGGREGATE_SCOPES: dict[str, tuple[str, str]] = {
    "events_per_minute": ("toDate(minute) IN {days}", "toDate(created_at) IN {days}"),
    "repo_events_daily": ("day IN {days}", "toDate(created_at) IN {days}"),
    "actors_daily": ("day IN {days}", "toDate(created_at) IN {days}"),
    "pull_requests_daily": ("day IN {days}", "toDate(created_at) IN {days}"),
    "actor_first_seen": ("actor_login IN {actors}", "actor_login IN {actors}"),
}

_MV_TARGET = re.compile(r"^CREATE MATERIALIZED VIEW \S+ TO (\S+?)\.(\S+) ")


def range_condition(spans: Spans, partition: str, offset: str) -> str:
    """A SQL condition: the row's ``partition``/``offset`` columns lie in ``spans``."""
    if not spans:
        return "0"
    return " OR ".join(
        f"({partition} = {int(p)} AND {offset} >= {int(start)} AND {offset} < {int(end)})"
        for p, (start, end) in sorted(spans.items())
    )


@dataclass(frozen=True)
class RebuildReport:
    """What replacing a range did."""

    deleted: int  # rows of the range github_events held before
    inserted: int  # rows read from the topic
    days: tuple[str, ...]  # the days whose aggregates were rebuilt
    aggregates: tuple[str, ...]  # the aggregate tables rebuilt


class TopicRangeRebuild:
    """One topic replay's objects in the warehouse and the replacement of its range.

    ``name`` (letters, digits, ``_``) names the staging table and its Kafka reader;
    ``group`` is the consumer group the reader uses. The rebuild owns ``clickhouse``
    (an admin's client) and closes it in :meth:`close`.
    """

    def __init__(
        self, clickhouse: ClickHouseQueries, settings: Settings, name: str, group: str
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise WarehouseError(f"{name!r} is not a staging table name")
        self.clickhouse = clickhouse
        self.settings = settings
        self.group = group
        db = settings.warehouse.database
        self.events = f"{db}.github_events"
        self.staging = f"{db}.{name}"
        self.touched = f"{db}.{name}_touched"
        self.queue = f"{db}.{name}_queue"
        self.view = f"{db}.{name}_mv"

    def _reader_statements(self, spans: Spans) -> tuple[str, str]:
        """The pipeline's Kafka table and normalizing view, renamed, for the replay's group."""
        warehouse = self.settings.warehouse.model_copy(update={"consumer_group": self.group})
        rendered = render_pipeline(self.settings.model_copy(update={"warehouse": warehouse}))
        db = self.settings.warehouse.database
        queue = next(s for s in rendered.statements if "ENGINE = Kafka" in s)
        view = next(s for s in rendered.statements if f"TO {self.events}" in s)
        view = (
            view.replace(f"{db}.events_queue_mv", self.view)
            .replace(f"{db}.events_queue", self.queue)
            .replace(f"TO {self.events}", f"TO {self.staging}")
        )
        view += f"\n  AND ({range_condition(spans, '_partition', '_offset')})"
        return queue.replace(f"{db}.events_queue", self.queue), view

    def start_reading(self, spans: Spans) -> None:
        """Create the staging table and the reader (the group's offsets are set already)."""
        queue, view = self._reader_statements(spans)
        self.clickhouse.statement(f"CREATE TABLE IF NOT EXISTS {self.staging} AS {self.events}")
        self.clickhouse.statement(queue)
        self.clickhouse.statement(view)
        log.info("warehouse topic replay reading", extra={"group": self.group,
                 "staging": self.staging, "partitions": len(spans)})  # fmt: skip

    def stop_reading(self) -> None:
        """Drop the reader (the view first: it holds the Kafka table)."""
        self.clickhouse.statement(f"DROP VIEW IF EXISTS {self.view} SYNC")
        self.clickhouse.statement(f"DROP TABLE IF EXISTS {self.queue} SYNC")

    def staged(self) -> int:
        """Rows staged so far."""
        rows = self.clickhouse.select(f"SELECT count() AS n FROM {self.staging}")
        return int(rows[0]["n"])

    def replace(self, spans: Spans) -> RebuildReport:
        """Replace the range's rows of github_events with the staged ones; rebuild aggregates."""
        in_range = range_condition(spans, "kafka_partition", "kafka_offset")
        run = self.clickhouse.statement
        run(f"CREATE TABLE IF NOT EXISTS {self.touched} (day Date, actor_login String) "
            "ENGINE = MergeTree ORDER BY (day, actor_login)")  # fmt: skip
        for source, where in ((self.events, f"WHERE {in_range}"), (self.staging, "")):
            run(f"INSERT INTO {self.touched} SELECT DISTINCT toDate(created_at), actor_login "
                f"FROM {source} {where}")  # fmt: skip
        deleted = self._count(f"SELECT count() AS n FROM {self.events} WHERE {in_range}")
        run(f"ALTER TABLE {self.events} DELETE WHERE {in_range} SETTINGS mutations_sync = 2")
        inserted = self.staged()
        run(f"INSERT INTO {self.events} SELECT * FROM {self.staging}")
        days = tuple(row["day"] for row in self.clickhouse.select(
            f"SELECT DISTINCT toString(day) AS day FROM {self.touched} ORDER BY day"))  # fmt: skip
        rebuilt = self._rebuild_aggregates()
        log.info("warehouse range replaced", extra={"deleted": deleted, "inserted": inserted,
                 "days": len(days), "aggregates": rebuilt})  # fmt: skip
        return RebuildReport(deleted, inserted, days, rebuilt)

    def _count(self, sql: str) -> int:
        return int(self.clickhouse.select(sql)[0]["n"])

    def _rebuild_aggregates(self) -> tuple[str, ...]:
        """Each view on github_events: its target's touched rows deleted and computed again."""
        db = self.settings.warehouse.database
        views = self.clickhouse.select(
            "SELECT create_table_query AS ddl, as_select FROM system.tables "
            "WHERE database = {db:String} AND engine = 'MaterializedView' AND name IN "
            "(SELECT arrayJoin(dependencies_table) FROM system.tables "
            "WHERE database = {db:String} AND name = 'github_events')",
            {"db": db},
        )
        scope = {"days": f"(SELECT day FROM {self.touched})",
                 "actors": f"(SELECT actor_login FROM {self.touched})"}  # fmt: skip
        rebuilt = []
        for view in views:
            match = _MV_TARGET.match(view["ddl"])
            if match is None:
                raise WarehouseError(f"cannot tell the target of view: {view['ddl'][:200]}")
            target = match.group(2)
            if target not in AGGREGATE_SCOPES:
                raise WarehouseError(
                    f"the view into {target} has no rebuild scope; add it to AGGREGATE_SCOPES"
                )
            in_target, in_events = (s.format(**scope) for s in AGGREGATE_SCOPES[target])
            select: str = view["as_select"]
            if select.count(f"FROM {self.events}") != 1:
                raise WarehouseError(f"the view into {target} does not read {self.events} once")
            source = f"FROM (SELECT * FROM {self.events} WHERE {in_events}) AS github_events"
            table = f"{db}.{target}"
            self.clickhouse.statement(
                f"ALTER TABLE {table} DELETE WHERE {in_target} SETTINGS mutations_sync = 2"
            )
            self.clickhouse.statement(
                f"INSERT INTO {table} {select.replace(f'FROM {self.events}', source)}"
            )
            rebuilt.append(target)
        return tuple(sorted(rebuilt))

    def close(self) -> None:
        """Close the ClickHouse client (the rebuild owns it)."""
        self.clickhouse.close()

    def drop(self) -> None:
        """Drop everything of this replay in the warehouse."""
        self.stop_reading()
        for table in (self.staging, self.touched):
            self.clickhouse.statement(f"DROP TABLE IF EXISTS {table} SYNC")
