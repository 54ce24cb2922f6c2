"""The DDL in clickhouse/ renders for both targets, and migrations work on a real chDB.

Migrations run without the Kafka pipeline here (no broker in unit tests); the
integration tests run them with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ghlake.errors import ConfigError, WarehouseError
from ghlake.events.schema import EVENT_TYPES
from ghlake.settings import Settings
from ghlake.warehouse.ddl import (
    bootstrap_statements,
    load_migrations,
    render_pipeline,
    split_statements,
)
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.migrations import LEGACY_TABLE, migrate, migration_status

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
# The issue-2 schema: a subset github_events and no migrations ledger.
LEGACY_DDL = [
    "CREATE DATABASE IF NOT EXISTS ghlake",
    "CREATE TABLE ghlake.github_events (file_time DateTime('UTC'), event_type String, "
    "actor_login String, repo_name String, created_at DateTime('UTC'), event_id UInt64, "
    "repo_id UInt64, event_key UInt64, source String, source_hour String, "
    "kafka_partition UInt16, kafka_offset UInt64) "
    "ENGINE = ReplacingMergeTree ORDER BY (event_type, repo_name, created_at, event_key)",
    "CREATE TABLE ghlake.ingest_errors (received_at DateTime('UTC') DEFAULT now(), "
    "kafka_partition UInt16, kafka_offset UInt64, error String, raw String) "
    "ENGINE = MergeTree ORDER BY (received_at, kafka_partition, kafka_offset)",
    "INSERT INTO ghlake.github_events (event_type, repo_name, event_id) "
    "VALUES ('PushEvent', 'o/r', 1)",
    "INSERT INTO ghlake.ingest_errors (error, raw) VALUES ('old', 'x')",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.mark.parametrize("target", ["embedded", "server"])
def test_every_file_renders_for_both_targets(settings: Settings, target: str) -> None:
    statements = bootstrap_statements(settings, target)  # type: ignore[arg-type]
    for migration in load_migrations(settings, target):  # type: ignore[arg-type]
        statements += migration.statements
    pipeline = render_pipeline(settings, target)  # type: ignore[arg-type]
    statements += pipeline.statements
    assert not [s for s in statements if "${" in s or "$database" in s]
    queue = next(s for s in pipeline.statements if "ENGINE = Kafka" in s)
    consumers = "1" if target == "embedded" else str(settings.kafka.partitions)
    assert f"kafka_num_consumers = {consumers}," in queue
    assert f"kafka_flush_interval_ms = {settings.warehouse.flush_interval_ms}," in queue
    assert "kafka_handle_error_mode = 'stream'" in queue


def test_github_events_has_every_column_of_the_public_dataset(settings: Settings) -> None:
    reference = REFERENCE / "github_events_columns.md"
    if not reference.is_file():
        pytest.skip(f"{reference} not found")
    names = [
        line.split("|")[1].strip()
        for line in reference.read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| column") and "---" not in line
    ]
    [create] = [s for s in load_migrations(settings)[0].statements if "github_events" in s]
    for name in names:
        assert f"\n    {name} " in create, name
    for extra in ("event_id", "actor_id", "repo_id", "source_hour"):
        assert f"\n    {extra} " in create
    for event_type in EVENT_TYPES:
        assert f"'{event_type}'" in create


def test_statements_split_on_line_ending_semicolons() -> None:
    text = "-- a comment\nCREATE TABLE a (x String DEFAULT ';');\n\n-- only a comment;\nSELECT 1;\n"
    assert split_statements(text) == [
        "-- a comment\nCREATE TABLE a (x String DEFAULT ';')",
        "SELECT 1",
    ]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ChdbEngine]:
    engine = ChdbEngine(tmp_path / "chdb")
    yield engine
    engine.close()


def test_a_new_database_is_migrated_once(engine: ChdbEngine, settings: Settings) -> None:
    rewinds: list[int] = []
    report = migrate(engine, settings, rewind=lambda: rewinds.append(1) or 3, with_pipeline=False)
    assert report.applied == [m.name for m in load_migrations(settings)]
    assert rewinds == [1], "creating github_events rebuilds it from the topic"
    again = migrate(engine, settings, rewind=lambda: rewinds.append(2) or 3, with_pipeline=False)
    assert (again.applied, rewinds) == ([], [1])
    assert all(m["applied_at"] for m in migration_status(engine, settings))


def test_a_pre_migration_database_keeps_its_table_and_is_rebuilt(
    engine: ChdbEngine, settings: Settings
) -> None:
    for statement in LEGACY_DDL:
        engine.execute(statement)
    report = migrate(engine, settings, rewind=lambda: 3, with_pipeline=False)
    assert report.legacy_kept_as == LEGACY_TABLE
    assert report.rewound_partitions == 3
    [kept] = engine.rows(f"SELECT count() AS n FROM ghlake.{LEGACY_TABLE}")
    assert int(kept["n"]) == 1
    columns = {r["name"] for r in engine.rows(
        "SELECT name FROM system.columns WHERE database = 'ghlake' AND table = {t:String}",
        {"t": "github_events"},
    )}  # fmt: skip
    assert {"merged_by", "review_state", "actor_id", "source_line"} <= columns
    errors = {r["name"] for r in engine.rows(
        "SELECT name FROM system.columns WHERE database = 'ghlake' AND table = 'ingest_errors'"
    )}  # fmt: skip
    assert {"kafka_topic", "source_hour", "source_line", "raw"} <= errors
    [old] = engine.rows("SELECT count() AS n FROM ghlake.ingest_errors")
    assert int(old["n"]) == 1, "ALTERed in place, rows kept"


def test_an_edited_applied_migration_is_refused(
    engine: ChdbEngine, settings: Settings, tmp_path: Path
) -> None:
    migrate(engine, settings, rewind=lambda: 0, with_pipeline=False)
    engine.execute("ALTER TABLE ghlake.schema_migrations UPDATE checksum = 'x' WHERE version = 1")
    engine.execute("OPTIMIZE TABLE ghlake.schema_migrations FINAL")
    with pytest.raises(WarehouseError, match="never edit an applied migration"):
        migrate(engine, settings, rewind=lambda: 0, with_pipeline=False)


def test_a_checkout_without_the_ddl_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="warehouse DDL"):
        bootstrap_statements(Settings(project_root=tmp_path))
