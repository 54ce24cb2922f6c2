"""The warehouse service's core: the one owner of the embedded engine, without HTTP.

chDB lets one process hold a data path (``settings.warehouse_path``), so one object
opens it, migrates the schema (which starts the Kafka engine consuming the events
topic in the background) and answers everything asked of the warehouse: catalogue
queries with bound parameters, read-only SQL within limits, row counts, migrations.
``ghlake warehouse serve`` puts it behind HTTP (:mod:`ghlake.warehouse_api`);
``ghlake warehouse migrate`` uses it directly when the service is not running.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ghlake.settings import Settings
from ghlake.warehouse.engine import Engine
from ghlake.warehouse.migrations import MigrationReport, migrate, migration_status
from ghlake.warehouse.native import for_revision
from ghlake.warehouse.offsets import rewind_to_earliest
from ghlake.warehouse.optimize import optimize_statements
from ghlake.warehouse.queries import TABLE_ROWS, Query, named_query
from ghlake.warehouse.readonly import DEFAULT_LIMITS, ReadOnlyLimits, ReadOnlyResult
from ghlake.warehouse.rows import HourStages
from ghlake.warehouse.users import WarehouseUser
from ghlake.warehouse.wire import (
    ClickHouseError,
    WireRequest,
    inline_insert,
    into_outfile,
    output_format,
    placeholders,
    statement_with_settings,
)

__all__ = ["WarehouseService"]

log = logging.getLogger(__name__)

# A reconciliation's counts, one row per hour; the values arrive as bound arrays.
_RECORD_HOUR_STAGES = """
INSERT INTO hour_stages (hour, hour_start, published, lake, warehouse, reconciled, checked_at)
SELECT t.1, toDateTime(t.2, 'UTC'), t.3, t.4, t.5, t.3 = t.4 AND t.4 = t.5, now64(3)
FROM (
    SELECT arrayJoin(arrayZip(
        {hours:Array(String)}, {starts:Array(String)},
        {published:Array(UInt64)}, {lake:Array(UInt64)}, {warehouse:Array(UInt64)}
    )) AS t
)
"""


class WarehouseService:
    """Catalogue queries, read-only SQL and migrations on one engine.

    ``pipeline=False`` leaves the Kafka engine out and never touches the broker
    (benchmarks, tools, tests on a bare engine).
    """

    def __init__(self, engine: Engine, settings: Settings, *, pipeline: bool = True) -> None:
        self.engine = engine
        self.settings = settings
        self.pipeline = pipeline

    def migrate(self) -> MigrationReport:
        """Apply pending migrations, (re)start the Kafka pipeline, and query the database."""
        settings = self.settings
        report = migrate(
            self.engine,
            settings,
            rewind=(lambda: rewind_to_earliest(settings)) if self.pipeline else None,
            with_pipeline=self.pipeline,
        )
        # The named queries name their tables unqualified.
        self.engine.use(settings.warehouse.database)
        return report

    def migrations(self) -> list[dict[str, object]]:
        """Every migration with its applied time (None when pending)."""
        return migration_status(self.engine, self.settings)

    def run(self, query: Query[Any], values: Mapping[str, object]) -> list[dict[str, Any]]:
        """Rows of a catalogue query for request ``values`` (checked and bound by the query)."""
        bound = query.bind(**values)
        return self.engine.rows(named_query(bound.name), bound.params)

    def run_named(self, name: str, params: Mapping[str, object]) -> list[dict[str, Any]]:
        """Rows of the ``.sql`` file ``name`` with ``params`` bound as they are."""
        return self.engine.rows(named_query(name), params)

    def optimize(self, months: list[int]) -> list[str]:
        """Merge the ``months`` (YYYYMM) of every table now; the statements run."""
        statements = optimize_statements(self.settings.warehouse.database, months)
        for statement in statements:
            self.engine.execute(statement)
        log.info("warehouse optimized", extra={"months": months, "statements": len(statements)})
        return statements

    def table_rows(self) -> dict[str, Any]:
        """Rows per warehouse table, as the engine counts them."""
        return self.run(TABLE_ROWS, {})[0]

    def record_hour_stages(self, stages: Sequence[HourStages]) -> int:
        """Record a reconciliation's counts per hour (the dashboards' stage counts)."""
        if stages:
            self.engine.rows(
                _RECORD_HOUR_STAGES,
                {
                    "hours": [s.hour for s in stages],
                    "starts": [s.hour_start for s in stages],
                    "published": [s.published for s in stages],
                    "lake": [s.lake for s in stages],
                    "warehouse": [s.warehouse for s in stages],
                },
            )
        return len(stages)

    def read_only(self, sql: str, limits: ReadOnlyLimits) -> ReadOnlyResult:
        """Rows of untrusted ``sql``, read-only, within ``limits`` capped by the service's."""
        return self.engine.read_only(sql, limits.capped_by(DEFAULT_LIMITS))

    def clickhouse(
        self,
        request: WireRequest,
        user: WarehouseUser,
        query_id: str,
        *,
        get: bool = False,
        run_tag: str | None = None,
    ) -> tuple[bytes, str]:
        """A ClickHouse client's request run as ``user``: the answer and its format.

        The steps are :mod:`ghlake.warehouse.wire`'s: the engine parses the statement,
        the request's and the user's settings go into its own SETTINGS clause (a GET is
        read-only, as in ClickHouse), parameters are bound under the session lock.
        """
        canonical = self.engine.canonical(request.sql)
        if into_outfile(canonical):
            raise ClickHouseError.named("INTO_OUTFILE_NOT_ALLOWED", "INTO OUTFILE is not allowed")
        for name in sorted(placeholders(canonical) - set(request.params)):
            raise ClickHouseError.named(
                "UNKNOWN_QUERY_PARAMETER", f"Substitution `{name}` is not set"
            )
        if inline_insert(canonical) and not user.readonly:
            raise ClickHouseError.named(
                "NOT_IMPLEMENTED",
                "INSERT with data is not served here: the warehouse is written by its Kafka "
                "pipeline (INSERT ... SELECT works)",
            )
        fmt = output_format(canonical) or request.default_format or "TabSeparated"
        settings = [
            *request.settings,
            # A GET is read-only, as in ClickHouse (readonly = 2); a read-only user's own
            # readonly = 1 is stricter, and the engine refuses a second change of it.
            *([("readonly", "2")] if get and not user.readonly else []),
            # The query id, and the run's own tag, by which cancel() finds it.
            ("log_comment", query_id if run_tag is None else f"{query_id} [{run_tag}]"),
            *user.settings,
        ]
        statement = statement_with_settings(canonical, settings)
        database = request.database
        if database == self.settings.warehouse.database:
            database = None
        data = self.engine.raw(statement, fmt, request.params, database)
        if not data and fmt == "Native" and output_format(canonical) is None:
            # chDB writes no block for an empty result; a server writes the header block.
            header = statement_with_settings(canonical, [*settings, ("readonly", "1")])
            data = self._native_header(header, request.params, database)
        revision = request.transport.get("client_protocol_version", "0")
        if fmt == "Native" and revision.isdigit() and int(revision) > 0:
            data = for_revision(data, int(revision))
        return data, fmt

    def cancel(self, run_tag: str) -> None:
        """Stop the query run with ``run_tag`` (its client went away), if it still runs."""
        if not run_tag.isalnum():
            raise ValueError(f"a run tag is a generated hex string, not {run_tag!r}")
        self.engine.rows(
            "KILL QUERY WHERE query LIKE {pattern:String} AND query NOT LIKE '%KILL QUERY%' ASYNC",
            {"pattern": f"%[{run_tag}]%"},
        )

    def _native_header(
        self, statement: str, params: Mapping[str, str], database: str | None
    ) -> bytes:
        """The Native header block (columns, no rows) of a read-only ``statement``.

        Run again read-only, so a statement that wrote (DDL, INSERT) is refused and
        answered with no block, as before.
        """
        try:
            names_types = self.engine.raw(statement, "RowBinaryWithNamesAndTypes", params, database)
        except ClickHouseError:
            return b""
        if not names_types:
            return b""
        columns, at = names_types[0], 1  # fewer than 128 columns fit one varint byte
        if columns >= 0x80:
            return b""
        strings = []
        for _ in range(2 * columns):
            size = names_types[at]
            strings.append(names_types[at : at + 1 + size])
            at += 1 + size
        header = bytes([columns, 0])
        for i in range(columns):
            header += strings[i] + strings[columns + i]
        return header

    def close(self) -> None:
        """Release the engine (and the data path)."""
        self.engine.close()
