"""Airflow on the local stack: its own venv, its own PostgreSQL cluster, four processes.

Airflow runs beside ghlake, never inside its environment: a venv under the cache
directory, installed with uv from the hash lock ``airflow/requirements.lock`` (once per
lock, remembered by a stamp). Its metadata database is a private PostgreSQL cluster
under ``GHLAKE_HOME/airflow`` on its own port; the api-server, scheduler (LocalExecutor),
dag-processor and triggerer are ``airflow`` commands, each supervised like any service.
Every component gets the same environment (:func:`airflow_env`): one JWT secret, the
execution API at the api-server's port, no example DAGs, no default connections, and
the connection ``ghlake_api`` through which the DAGs reach ghlake.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import httpx

from ghlake.services.postgres import USER, database_ready, init_cluster, postgres_spec
from ghlake.services.supervisor import ProcessSpec
from ghlake.services.venvs import install_lock, run_tool
from ghlake.settings import Settings

__all__ = [
    "AIRFLOW_COMPONENTS",
    "airflow_db_spec",
    "airflow_env",
    "airflow_spec",
    "ensure_airflow_venv",
    "init_airflow_db",
    "migrate_airflow_db",
]

DATABASE = "airflow"
# The processes after the database, in start order: the api-server first (the others'
# health is read from its monitor endpoint, and tasks reach it through the execution API).
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
_MONITOR_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor",
                 "triggerer": "triggerer"}  # fmt: skip


def airflow_venv(settings: Settings) -> Path:
    """Airflow's own virtual environment (under the cache directory, shared by checkouts)."""
    return settings.cache_dir / "airflow-venv"


def airflow_home(settings: Settings) -> Path:
    """AIRFLOW_HOME: config, logs and the password file, under the state directory."""
    return settings.state_dir / "airflow"


def ensure_airflow_venv(settings: Settings) -> Path:
    """Create the venv from the lock with uv, unless the stamp says this lock is installed."""
    lock = settings.root / "airflow" / "requirements.lock"
    return install_lock(settings, airflow_venv(settings), lock)


def _db_url(settings: Settings, driver: str = "psycopg2") -> str:
    return f"postgresql+{driver}://{USER}@127.0.0.1:{settings.airflow.db_port}/{DATABASE}"


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment every Airflow component (and so every task) runs with."""
    airflow = settings.airflow
    _, jwt_secret = settings.airflow_secrets()
    home = airflow_home(settings)
    api_connection = {"conn_type": "http", "host": settings.api.host, "port": settings.api.port,
                      "schema": "http", "password": settings.api_token}  # fmt: skip
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.root / "airflow" / "dags"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(airflow.parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{airflow.url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{airflow.admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _db_url(settings),
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__API__HOST": airflow.host,
        "AIRFLOW__API__PORT": str(airflow.port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": airflow.url,
        "AIRFLOW__API__SECRET_KEY": jwt_secret,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(airflow.log_server_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(airflow.trigger_log_server_port),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(airflow.dag_refresh_seconds),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(airflow.dag_refresh_seconds),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # A busy api-server (two cores shared with the whole stack) answers tasks slowly.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "5",
        # No calls home: no usage data, no version check.
        "SCARF_ANALYTICS": "false",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW_CONN_GHLAKE_API": json.dumps(api_connection),
        # The DAGs' shell tasks run ghlake's own CLI (its venv, these settings).
        "GHLAKE_BIN": str(Path(sys.executable).with_name("ghlake")),
        "GHLAKE_AIRFLOW__SCHEDULED_HOURLY_RUNS": str(airflow.scheduled_hourly_runs),
    }


def airflow_db_spec(settings: Settings) -> ProcessSpec:
    """Airflow's own PostgreSQL cluster (:func:`init_airflow_db` creates it)."""
    port = settings.airflow.db_port
    return replace(
        postgres_spec(_db_dir(settings), port), name="airflow-db", address=_db_url(settings),
        health=lambda: database_ready(port, DATABASE),
    )  # fmt: skip


def _db_dir(settings: Settings) -> Path:
    return settings.airflow.db_dir or airflow_home(settings) / "postgres"


def init_airflow_db(settings: Settings) -> None:
    """Create the cluster's data directory once (idempotent)."""
    init_cluster(_db_dir(settings))


def migrate_airflow_db(settings: Settings) -> None:
    """``airflow db migrate`` (idempotent) and the admin's password file."""
    home = airflow_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    password, _ = settings.airflow_secrets()
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({settings.airflow.admin_user: password}))
    passwords.chmod(0o600)
    binary = str(airflow_venv(settings) / "bin" / "airflow")
    run_tool(
        [binary, "db", "migrate"], "airflow db migrate", {**os.environ, **airflow_env(settings)}
    )


def _monitor(settings: Settings) -> dict[str, dict[str, object]]:
    url = f"{settings.airflow.url}/api/v2/monitor/health"
    health: dict[str, dict[str, object]] = httpx.get(url, timeout=2).raise_for_status().json()
    return health


def _component_healthy(settings: Settings, component: str) -> bool:
    health = _monitor(settings)
    if component == "api-server":
        return health["metadatabase"]["status"] == "healthy"
    return health[_MONITOR_KEYS[component]]["status"] == "healthy"


def airflow_spec(settings: Settings, component: str) -> ProcessSpec:
    """One Airflow component: ``airflow <component>`` with :func:`airflow_env`.

    The api-server answers its monitor endpoint; the others are healthy when it reports
    their heartbeat as recent.
    """
    binary = airflow_venv(settings) / "bin" / "airflow"
    address = settings.airflow.url if component == "api-server" else "heartbeat in the api-server"
    return ProcessSpec(
        name=f"airflow-{component}",
        argv=[str(binary), component],
        address=address,
        health=lambda: _component_healthy(settings, component),
        env=airflow_env(settings),
        cwd=airflow_home(settings),
        ready_timeout=120,
        stop_timeout=30,
    )
