"""``ghlake deploy``: what the compose deployment's init jobs run, on the real services.

The topics and the bucket are created once on the session's broker and MinIO (a second run
creates nothing). The warehouse schema rendered for a clickhouse-server is applied through
the ClickHouse HTTP interface, as the admin, to the embedded warehouse (ClickHouse 25.8, the
server's version). And postgres/init/databases.sh, which the postgres image runs on an empty
cluster, on Debian's PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from ghlake.orchestration.provision import (
    apply_warehouse_schema,
    create_bucket,
    create_topics,
    warehouse_ddl,
)
from ghlake.platform import Platform
from ghlake.services.postgres import find_postgres_bin, postgres_spec
from ghlake.services.supervisor import Supervisor
from ghlake.warehouse.clickhouse import ClickHouseQueries

pytestmark = [pytest.mark.integration]


def test_topics_and_bucket_are_created_once(platform: Platform) -> None:
    suffix = time.time_ns()
    kafka = platform.settings.kafka.model_copy(
        update={"topic": f"deploy-{suffix}", "dead_letter_topic": f"deploy-{suffix}.dlq"}
    )
    minio = platform.settings.minio.model_copy(update={"bucket": f"deploy-{suffix}"})
    settings = platform.settings.model_copy(update={"kafka": kafka, "minio": minio})
    assert sorted(create_topics(settings)) == [f"deploy-{suffix}", f"deploy-{suffix}.dlq"]
    assert create_topics(settings) == []
    assert create_bucket(settings) is True
    assert create_bucket(settings) is False


def test_the_server_schema_runs_through_the_clickhouse_interface(platform: Platform) -> None:
    """Every statement of the server rendering, run as the admin without a default database on
    ClickHouse 25.8 (the embedded warehouse, whose schema the service already created): all
    parse and run, and, being IF NOT EXISTS, change nothing, twice."""
    statements = warehouse_ddl(platform.settings, "server")
    assert any("kafka_thread_per_consumer = 1" in s for _, s in statements)
    admin = ClickHouseQueries.as_admin(platform.settings)
    tables = (
        "SELECT name, engine, create_table_query FROM system.tables "
        "WHERE database = {db:String} ORDER BY name"
    )
    try:
        before = admin.select(tables, {"db": platform.settings.warehouse.database})
        assert apply_warehouse_schema(platform.settings) == len(statements)
        assert apply_warehouse_schema(platform.settings) == len(statements)
        after = admin.select(tables, {"db": platform.settings.warehouse.database})
    finally:
        admin.close()
    assert {t["name"] for t in before} >= {"github_events", "events_queue", "schema_migrations"}
    assert after == before


def _as_postgres(argv: list[str]) -> list[str]:
    # As root, PostgreSQL runs as user postgres (as ghlake.services.postgres does).
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def test_the_postgres_init_script_creates_a_database_per_client() -> None:
    """An empty cluster whose superuser is `postgres`, as the image's; the script run as the
    image runs it; then each client's role owns its database and logs in to it."""
    home = Path(tempfile.mkdtemp(prefix="ghlake-pg-init-"))
    home.chmod(0o755)  # the server user must reach its data directory
    data = home / "data"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    initdb = [str(find_postgres_bin() / "initdb"), "-D", str(data), "-U", "postgres",
              "--auth=trust", "-E", "UTF8", "--no-instructions"]  # fmt: skip
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    dsn = f"host=127.0.0.1 port={port} dbname=postgres user=postgres"

    def ready() -> bool:
        with psycopg.connect(dsn, connect_timeout=2):
            return True

    spec = replace(postgres_spec(data, port), name="postgres-init-check", health=ready)
    supervisor = Supervisor(home / "run", home / "logs")
    supervisor.start(spec)
    try:
        passwords = {"ghlake": "p-ledger", "airflow": "p-airflow", "metabase": "p-metabase"}
        env = {"PATH": os.environ["PATH"], "PGHOST": "127.0.0.1", "PGPORT": str(port),
               "POSTGRES_USER": "postgres", "GHLAKE_LEDGER_PASSWORD": passwords["ghlake"],
               "AIRFLOW_DB_PASSWORD": passwords["airflow"],
               "METABASE_DB_PASSWORD": passwords["metabase"]}  # fmt: skip
        script = Path(__file__).resolve().parents[2] / "postgres" / "init" / "databases.sh"
        done = subprocess.run(
            ["bash", str(script)], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        with psycopg.connect(dsn) as conn:
            owners = dict(conn.execute(
                "SELECT d.datname, r.rolname FROM pg_database d "
                "JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY(%s)",
                (list(passwords),),
            ).fetchall())  # fmt: skip
            assert owners == {name: name for name in passwords}
            hashes = dict(conn.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)",
                (list(passwords),),
            ).fetchall())  # fmt: skip
            assert all(str(hashes[name]).startswith("SCRAM-SHA-256$") for name in passwords)
        for name, password in passwords.items():
            with psycopg.connect(
                f"host=127.0.0.1 port={port} dbname={name} user={name} password={password}"
            ) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (name,)
    finally:
        supervisor.stop(spec)
        shutil.rmtree(home, ignore_errors=True)
