"""Versioned schema migrations of the warehouse, and the Kafka pipeline on top of them.

``migrate`` brings any database to the current schema, in this order:

1. ``bootstrap.sql``: the database and the ``schema_migrations`` ledger.
2. A database from before the migrations (issue 2: a subset ``github_events`` and no
   ledger) keeps its old table as ``github_events_legacy`` and is rebuilt from the
   topic (which retains 30 days): the consumer group is rewound to the earliest
   offsets once the new tables exist. Older events than the topic holds stay in the
   legacy table; drop it when no longer needed.
3. When a migration is pending or the pipeline's rendered text changed, the Kafka
   engine table and its views are dropped first, so that nothing is inserted while
   tables change. Offsets live in the consumer group, so nothing is lost: the new
   consumer resumes where the old one committed.
4. Pending migrations run in version order; each is recorded with its checksum. An
   applied migration whose file changed is refused (write a new migration instead).
5. A migration marked ``-- ghlake: replay-topic`` rewinds the consumer group.
6. The pipeline (``pipeline/*.sql``) is created and its checksum recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ghlake.errors import WarehouseError
from ghlake.settings import Settings
from ghlake.warehouse.ddl import (
    Target,
    bootstrap_statements,
    load_migrations,
    render_pipeline,
)
from ghlake.warehouse.engine import Engine

__all__ = ["LEGACY_TABLE", "PIPELINE_OBJECTS", "MigrationReport", "migrate", "migration_status"]

log = logging.getLogger(__name__)

LEGACY_TABLE = "github_events_legacy"
# Dropped views first: they hold the Kafka table.
# Views first: a Kafka engine table is dropped only once nothing reads it.
PIPELINE_OBJECTS = (
    "events_queue_mv",
    "events_queue_errors_mv",
    "events_queue",
    "dead_letters_queue_mv",
    "dead_letters_queue",
)

Rewinder = Callable[[], int]


@dataclass(frozen=True)
class MigrationReport:
    """What one ``migrate`` did."""

    applied: list[str] = field(default_factory=list)
    current_version: int = 0
    legacy_kept_as: str | None = None
    pipeline_rebuilt: bool = False
    rewound_partitions: int | None = None  # None: the consumer group was not rewound


def _tables(engine: Engine, database: str) -> set[str]:
    rows = engine.rows(
        "SELECT name FROM system.tables WHERE database = {db:String}", {"db": database}
    )
    return {row["name"] for row in rows}


def _applied(engine: Engine, database: str) -> dict[int, str]:
    rows = engine.rows(f"SELECT version, checksum FROM {database}.schema_migrations")
    return {int(row["version"]): row["checksum"] for row in rows}


def _pipeline_checksum(engine: Engine, database: str) -> str:
    rows = engine.rows(
        f"SELECT argMax(checksum, applied_at) AS checksum FROM {database}.schema_pipeline"
    )
    return str(rows[0]["checksum"]) if rows else ""


def _is_legacy(engine: Engine, database: str, tables: set[str]) -> bool:
    """A github_events from before the migrations: no ledger row and a subset of columns."""
    if "github_events" not in tables:
        return False
    if "schema_migrations" in tables and _applied(engine, database):
        return False
    rows = engine.rows(
        "SELECT count() AS n FROM system.columns WHERE database = {db:String} "
        "AND table = 'github_events' AND name = 'merged_by'",
        {"db": database},
    )
    return int(rows[0]["n"]) == 0


def _drop_pipeline(engine: Engine, database: str) -> None:
    for name in PIPELINE_OBJECTS:
        kind = "TABLE" if name.endswith("_queue") else "VIEW"
        engine.execute(f"DROP {kind} IF EXISTS {database}.{name} SYNC")


def _keep_legacy(engine: Engine, database: str, tables: set[str]) -> str:
    target = LEGACY_TABLE
    suffix = 1
    while target in tables:
        suffix += 1
        target = f"{LEGACY_TABLE}_{suffix}"
    engine.execute(f"RENAME TABLE {database}.github_events TO {database}.{target}")
    return target


def migrate(
    engine: Engine,
    settings: Settings,
    rewind: Rewinder | None = None,
    target: Target = "embedded",
    with_pipeline: bool = True,
) -> MigrationReport:
    """Bring the warehouse database to the current schema and (re)start the Kafka pipeline.

    ``rewind`` resets the warehouse consumer group to the topic's earliest offsets and
    returns the partitions it moved; it runs when the tables must be rebuilt from the
    topic. ``with_pipeline=False`` leaves the Kafka engine out (benchmarks, tools).
    """
    database = settings.warehouse.database
    for statement in bootstrap_statements(settings, target):
        engine.execute(statement)
    tables = _tables(engine, database)
    legacy = _is_legacy(engine, database, tables)
    migrations = load_migrations(settings, target)
    applied = _applied(engine, database)
    for migration in migrations:
        known = applied.get(migration.version)
        if known is not None and known != migration.checksum:
            raise WarehouseError(
                f"migration {migration.name} was applied with checksum {known} but the file "
                f"now has {migration.checksum}; never edit an applied migration, add a new one"
            )
    pending = [m for m in migrations if m.version not in applied]
    pipeline = render_pipeline(settings, target)
    pipeline_stale = with_pipeline and (
        _pipeline_checksum(engine, database) != pipeline.checksum
        or not set(PIPELINE_OBJECTS) <= tables
    )

    if legacy or pending or pipeline_stale:
        _drop_pipeline(engine, database)
    kept = _keep_legacy(engine, database, tables) if legacy else None
    if kept:
        log.warning("kept the pre-migration github_events as %s.%s", database, kept)

    names = []
    for migration in pending:
        for statement in migration.statements:
            engine.execute(statement)
        engine.execute(
            f"INSERT INTO {database}.schema_migrations (version, name, checksum) "
            f"VALUES ({migration.version}, '{migration.name}', '{migration.checksum}')"
        )
        names.append(migration.name)
        log.info("applied migration %s", migration.name)

    rewound = None
    if (legacy or any(m.replay for m in pending)) and rewind is not None:
        rewound = rewind()
    rebuilt = False
    if with_pipeline and (legacy or pending or pipeline_stale):
        for statement in pipeline.statements:
            engine.execute(statement)
        engine.execute(
            f"INSERT INTO {database}.schema_pipeline (checksum) VALUES ('{pipeline.checksum}')"
        )
        rebuilt = True
    version = max((m.version for m in migrations), default=0)
    return MigrationReport(names, version, kept, rebuilt, rewound)


def migration_status(engine: Engine, settings: Settings) -> list[dict[str, object]]:
    """Every known migration with whether (and when) it was applied."""
    database = settings.warehouse.database
    applied: dict[int, str] = {}
    if "schema_migrations" in _tables(engine, database):
        rows = engine.rows(
            f"SELECT version, toString(applied_at) AS at FROM {database}.schema_migrations"
        )
        applied = {int(row["version"]): row["at"] for row in rows}
    return [
        {"version": m.version, "name": m.name, "applied_at": applied.get(m.version)}
        for m in load_migrations(settings)
    ]
