"""A private PostgreSQL from Debian's packages, for the ledger in tests and dev.

``initdb`` a data directory once and run ``postgres`` on loopback with its
socket in that directory. When running as root (CI), the server runs as the
``postgres`` system user, since PostgreSQL refuses to run as root. The cluster
trusts loopback connections: it is a dev/test instance; production points
``GHLAKE_LEDGER__URL`` at a managed PostgreSQL with credentials.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from ghlake.errors import ServiceError
from ghlake.services.supervisor import ProcessSpec

__all__ = ["find_postgres_bin", "init_cluster", "postgres_spec", "postgres_url"]

DATABASE = "ghlake"
USER = "ghlake"


def find_postgres_bin() -> Path:
    """The newest Debian PostgreSQL bin directory (``apt-get install postgresql``)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if not candidates:
        raise ServiceError("PostgreSQL is not installed; run: apt-get install -y postgresql")
    return candidates[-1].parent


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def init_cluster(data_dir: Path) -> None:
    """Create the cluster once (idempotent)."""
    if (data_dir / "PG_VERSION").is_file():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
        data_dir.chmod(0o700)
    argv = [str(find_postgres_bin() / "initdb"), "-D", str(data_dir), "-U", USER,
            "--auth=trust", "-E", "UTF8", "--no-instructions"]  # fmt: skip
    result = subprocess.run(_as_server_user(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"initdb {data_dir} failed:\n{result.stdout}{result.stderr}")


def postgres_url(port: int, database: str = DATABASE) -> str:
    """The SQLAlchemy URL of the local cluster."""
    return f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{database}"


def database_ready(port: int, database: str = DATABASE) -> bool:
    """Answers, and has ``database`` (created on first start)."""
    dsn = f"host=127.0.0.1 port={port} user={USER} dbname=postgres"
    with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        if conn.execute(query, (database,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {database}")  # a constant identifier, not input
    return True


def postgres_spec(data_dir: Path, port: int) -> ProcessSpec:
    """How to run the cluster in ``data_dir`` on ``127.0.0.1:port``."""
    argv = [str(find_postgres_bin() / "postgres"), "-D", str(data_dir), "-p", str(port),
            "-k", str(data_dir), "-c", "listen_addresses=127.0.0.1"]  # fmt: skip
    return ProcessSpec(
        name="postgres",
        argv=_as_server_user(argv),
        address=postgres_url(port),
        health=lambda: database_ready(port),
        ready_timeout=30,
        stop_timeout=15,
    )
