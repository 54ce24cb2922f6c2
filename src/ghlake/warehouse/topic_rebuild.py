"""Replacing the warehouse's rows of a topic range, so that nothing is counted twice.

A topic replay of the warehouse (:mod:`ghlake.ingest.topic_replay`) reads a range of
the events topic again, per partition the offsets ``[start, end)``. ClickHouse reads
it itself, from a Kafka engine table of the replay's own consumer group (its offsets
set to the range's starts beforehand): each :meth:`TopicRangeRebuild.read` is one
``INSERT ... SELECT`` of the pipeline's normalizing query
(``clickhouse/pipeline/20_events_mv.sql``, the same text, so the same rows) over the
messages the table hands out, keeping the range's, into a staging table shaped like
``github_events``; the group's offsets are committed after each. The table has no
view on it, so it streams nothing by itself, and dropping it never waits on a
consumer (chDB's streaming would hold the engine). The live pipeline goes on as is.

Once the group has passed every end offset, :meth:`TopicRangeRebuild.replace`:

1. notes the days and actors the range touches, in the old rows and the new ones;
2. deletes the range's rows from ``github_events`` (by ``kafka_partition`` and
   ``kafka_offset``: exactly the rows that came from those messages; a lightweight
   ``DELETE``, synchronous: the rows are gone for every reader when it returns);
3. inserts the staged rows into ``github_events``;
4. rebuilds the aggregate tables fed by views on ``github_events`` for what was
   touched: their rows of those days (or actors) are deleted and computed again
   from ``github_events`` with the view's own query. Their states are distinct
   counts, so rows of the live pipeline that land in between fold in once.

The range's offsets are integers read from the broker, written into the statements
as such.
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
        self._read = ""

    def _reader_statements(self, spans: Spans) -> tuple[str, str]:
        """The pipeline's Kafka table for the replay's group, and its normalizing query
        reading that table (the range's messages only) into the staging table."""
        warehouse = self.settings.warehouse.model_copy(update={"consumer_group": self.group})
        rendered = render_pipeline(self.settings.model_copy(update={"warehouse": warehouse}))
        live_queue = f"{self.settings.warehouse.database}.events_queue"
        queue = next(s for s in rendered.statements if "ENGINE = Kafka" in s)
        queue = queue.replace(live_queue, self.queue).replace(
            "kafka_format =", "kafka_commit_on_select = 1,\n    kafka_format ="
        )
        view = next(s for s in rendered.statements if f"TO {self.events} AS" in s)
        normalize = view.split(f"TO {self.events} AS", 1)[1].replace(
            f"FROM {live_queue}\n", f"FROM {self.queue}\n"
        )
        in_range = range_condition(spans, "_partition", "_offset")
        return queue, f"INSERT INTO {self.staging}\n{normalize}\n  AND ({in_range})"

    def start_reading(self, spans: Spans) -> None:
        """Create the staging table and the Kafka table (the group's offsets are set already)."""
        queue, self._read = self._reader_statements(spans)
        self.clickhouse.statement(f"CREATE TABLE IF NOT EXISTS {self.staging} AS {self.events}")
        self.clickhouse.statement(queue)
        log.info("warehouse topic replay reading", extra={"group": self.group,
                 "staging": self.staging, "partitions": len(spans)})  # fmt: skip

    def read(self) -> None:
        """Stage the range's messages of one batch the Kafka table hands out (none: no-op)."""
        self.clickhouse.statement(
            self._read, settings={"stream_like_engine_allow_direct_select": 1}
        )

    def stop_reading(self) -> None:
        """Drop the Kafka table."""
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
        run(f"DELETE FROM {self.events} WHERE {in_range}")
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
            self.clickhouse.statement(f"DELETE FROM {table} WHERE {in_target}")
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
