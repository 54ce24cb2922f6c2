"""What a deployment's services need before ghlake's processes start on them.

``ghlake up`` creates the topics and the bucket right after it starts Kafka and MinIO, and
the warehouse service migrates its own chDB. In a compose deployment (or on any existing
cluster) those services belong to someone else, so ``ghlake deploy topics``, ``bucket`` and
``warehouse-schema`` do the same steps against them, idempotently: the events topic and its
dead-letter topic, the lake's bucket, and the warehouse schema on a clickhouse-server (the
DDL of ``clickhouse/`` rendered for the server, as ``ghlake warehouse ddl --target server``
prints it).
"""

from __future__ import annotations

from ghlake.kafka.topics import ensure_topics, event_topics
from ghlake.lake.store import ObjectStore
from ghlake.settings import Settings
from ghlake.warehouse.clickhouse import ClickHouseQueries
from ghlake.warehouse.ddl import Target, bootstrap_statements, load_migrations, render_pipeline

__all__ = ["apply_warehouse_schema", "create_bucket", "create_topics", "warehouse_ddl"]


def warehouse_ddl(settings: Settings, target: Target) -> list[tuple[str, str]]:
    """Every statement of the warehouse schema rendered for ``target``, with its source file:
    the bootstrap, the migrations in order, then the Kafka pipeline."""
    statements = [("clickhouse/bootstrap.sql", s) for s in bootstrap_statements(settings, target)]
    for migration in load_migrations(settings, target):
        source = f"clickhouse/migrations/{migration.name}.sql"
        statements += [(source, s) for s in migration.statements]
    statements += [
        ("clickhouse/pipeline/", s) for s in render_pipeline(settings, target).statements
    ]
    return statements


def create_topics(settings: Settings) -> list[str]:
    """Create the events topic and its dead-letter topic when missing; the names created."""
    return ensure_topics(settings.kafka.bootstrap, event_topics(settings.kafka), timeout=60)


def create_bucket(settings: Settings) -> bool:
    """Create the lake's bucket when missing; True when it was created."""
    store = ObjectStore.from_settings(settings)
    try:
        return store.ensure_bucket(wait_seconds=60)
    finally:
        store.close()


def apply_warehouse_schema(settings: Settings) -> int:
    """Run the server DDL on the clickhouse-server at the warehouse's host, as the admin;
    every statement is ``IF NOT EXISTS``, so a second run changes nothing. The count run."""
    warehouse = settings.warehouse
    assert warehouse.admin_password is not None  # settings refuse a prod without one
    # No default database: the first statement creates it.
    admin = ClickHouseQueries(
        warehouse.host, warehouse.http_port, warehouse.admin_user,
        warehouse.admin_password.get_secret_value(),
    )  # fmt: skip
    statements = warehouse_ddl(settings, "server")
    try:
        for _, statement in statements:
            admin.statement(statement)
    finally:
        admin.close()
    return len(statements)
