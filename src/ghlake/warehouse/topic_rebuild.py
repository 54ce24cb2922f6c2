"""Replacing the warehouse's rows of a topic range, so that nothing is counted twice.

A topic replay of the warehouse (:mod:`ghlake.ingest.topic_replay`) reads a range of
the events topic again, per partition the offsets ``[start, end)``, and hands each
batch of messages to :meth:`TopicRangeRebuild.stage`: one ``INSERT ... SELECT`` of the
pipeline's normalizing query (``clickhouse/pipeline/20_events_mv.sql``, the same text,
so the same rows) over the batch, into a staging table shaped like ``github_events``.
The messages travel hex-encoded in the statement itself (``format(JSONEachRow,
...)``): the ClickHouse interface takes no inline INSERT data, and a statement is at
most ``max_query_size`` (256 KiB), so batches are cut to fit. (A Kafka engine table of
the replay's own would read the range inside ClickHouse, but dropping one can hang
chDB's engine in ``rd_kafka_consumer_close``, ClickHouse issue 100511.) The live
pipeline goes on as is.

Once the range is staged, :meth:`TopicRangeRebuild.replace`:

1. notes the days and actors the range touches, in the old rows and the new ones;
2. deletes the range's rows from ``github_events`` (by ``kafka_partition`` and
   ``kafka_offset``: exactly the rows that came from those messages; a lightweight
   ``DELETE``, synchronous: the rows are gone for every reader when it returns);
3. inserts the staged rows into ``github_events``;
4. rebuilds the aggregate tables fed by views on ``github_events`` for what was
   touched: their rows of those days (or actors) are deleted and computed again
   from ``github_events`` with the view's own query. Their states are distinct
   counts, so rows of the live pipeline that land in between fold in once.

The range's offsets are integers read from the broker, and the staged messages
hex text, written into the statements as such. (Hex, not base64: this chDB has no
``base64Decode``; a message longer than about 90 KB does not fit a statement.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

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

# A batch of messages as the Kafka engine's virtual columns the normalizing query reads.
_BATCH = (
    "SELECT unhex(m) AS message, n AS header_names, v AS header_values, "
    "p AS _partition, o AS _offset, '' AS _error FROM format(JSONEachRow, "
    "'m String, n Array(String), v Array(String), p UInt16, o UInt64', '{batch}')"
)

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
    """One topic replay's staging table in the warehouse and the replacement of its range.

    ``name`` (letters, digits, ``_``) names the staging table. The rebuild owns
    ``clickhouse`` (an admin's client) and closes it in :meth:`close`.
    """

    def __init__(
        self,
        clickhouse: ClickHouseQueries,
        settings: Settings,
        name: str,
        max_statement_bytes: int = 180_000,
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise WarehouseError(f"{name!r} is not a staging table name")
        self.clickhouse = clickhouse
        self.settings = settings
        self.max_statement_bytes = max_statement_bytes
        db = settings.warehouse.database
        self.events = f"{db}.github_events"
        self.staging = f"{db}.{name}"
        self.touched = f"{db}.{name}_touched"
        self._insert = self._staging_insert()

    def _staging_insert(self) -> str:
        """The pipeline's normalizing query over a batch (``{batch}``) into the staging table."""
        rendered = render_pipeline(self.settings)
        view = next(s for s in rendered.statements if f"TO {self.events} AS" in s)
        live_queue = f"{self.settings.warehouse.database}.events_queue"
        normalize = (
            view.split(f"TO {self.events} AS", 1)[1]
            .replace("_headers.name", "header_names")
            .replace("_headers.value", "header_values")
            .replace(f"FROM {live_queue}\n", f"FROM ({_BATCH})\n")
        )
        return f"INSERT INTO {self.staging}\n{normalize}"

    def start(self) -> None:
        """Create the staging table (what an interrupted run left is dropped first)."""
        self.drop()
        self.clickhouse.statement(f"CREATE TABLE {self.staging} AS {self.events}")

    def stage(self, messages: Iterable[tuple[int, int, bytes, Mapping[str, bytes | None]]]) -> int:
        """Normalize ``(partition, offset, value, headers)`` messages into the staging table.

        Returns the messages sent; they go in statements of at most ``max_statement_bytes``.
        """
        sent, size = 0, 0
        rows: list[bytes] = []
        for partition, offset, value, headers in messages:
            names = sorted(headers)
            row = orjson.dumps({
                "m": value.hex(), "n": names,
                "v": [(headers[k] or b"").decode("utf-8", "replace") for k in names],
                "p": partition, "o": offset,
            })  # fmt: skip
            if rows and size + len(row) > self.max_statement_bytes:
                sent += self._stage(rows)
                rows, size = [], 0
            rows.append(row)
            size += len(row) + 1
        return sent + (self._stage(rows) if rows else 0)

    def _stage(self, rows: list[bytes]) -> int:
        data = b"\n".join(rows).decode().replace("\\", "\\\\").replace("'", "\\'")
        self.clickhouse.statement(self._insert.replace("{batch}", data))
        return len(rows)

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
        for table in (self.staging, self.touched):
            self.clickhouse.statement(f"DROP TABLE IF EXISTS {table}")
