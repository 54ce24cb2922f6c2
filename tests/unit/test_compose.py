"""The compose deployment: every file valid, and the values it shares with ghlake's settings equal.

``docker-compose config`` (Docker Compose v2, built once into the cache by
scripts/docker-compose.sh; it parses, interpolates, merges includes and extends, and
validates against the compose schema, all without a Docker engine) checks every file: each
service folder's on its own, and the top-level one. The resolved configuration then shows
that no ghlake service retypes a setting (only where the other services are, prod mode
and secrets are set) and that ports, topic settings, users and limits written for the
official images equal ghlake's defaults, so the local stack and the compose deployment
cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghlake.services.airflow import airflow_env
from ghlake.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOP = ROOT / "compose.yaml"
BASE = ROOT / "compose.ghlake.yaml"
FOLDERS = sorted(ROOT.glob("*/compose.yaml"))

# The secrets a deployment must give (required variables, `${NAME:?...}`), as test values.
SECRETS = {
    "MINIO_ROOT_USER": "test-minio-user",
    "MINIO_ROOT_PASSWORD": "test-minio-password",
    "POSTGRES_PASSWORD": "test-postgres",
    "GHLAKE_LEDGER_PASSWORD": "test-ledger",
    "AIRFLOW_DB_PASSWORD": "test-airflow-db",
    "METABASE_DB_PASSWORD": "test-metabase-db",
    "GHLAKE_WAREHOUSE__ANALYST_PASSWORD": "test-analyst",
    "GHLAKE_WAREHOUSE__ADMIN_PASSWORD": "test-admin",
    "GHLAKE_API__TOKEN": "test-api-token",
    "GHLAKE_AIRFLOW__JWT_SECRET": "test-jwt-secret",
    "GHLAKE_AIRFLOW__ADMIN_PASSWORD": "test-airflow-admin",
    "GHLAKE_LIVE__TOKENS": '["test-github-token"]',
}

# The settings a compose file may give a ghlake service: where the other services are, the
# bind addresses inside a container, prod mode, and secrets. Everything else comes from the
# defaults of src/ghlake/settings.py inside the image.
DEPLOYMENT_SETTINGS = {
    "GHLAKE_MODE",
    "GHLAKE_KAFKA__EXTERNAL_BOOTSTRAP",
    "GHLAKE_KAFKA__BROKERS",
    "GHLAKE_MINIO__EXTERNAL_ENDPOINT",
    "GHLAKE_MINIO__ACCESS_KEY",
    "GHLAKE_MINIO__SECRET_KEY",
    "GHLAKE_LEDGER__URL",
    "GHLAKE_WAREHOUSE__HOST",
    "GHLAKE_WAREHOUSE__ANALYST_PASSWORD",
    "GHLAKE_WAREHOUSE__ADMIN_PASSWORD",
    "GHLAKE_API__HOST",
    "GHLAKE_API__TOKEN",
    "GHLAKE_LAKE__WEB_HOST",
    "GHLAKE_LIVE__TOKENS",
    "GHLAKE_AIRFLOW__ADMIN_PASSWORD",
}


@pytest.fixture(scope="module")
def compose_bin() -> str:
    """The docker-compose binary; built into the cache on first use (install.sh builds it in
    the background, so in CI this waits for that build at most)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docker-compose.sh")],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"building docker-compose failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1]


def _env(**changes: str | None) -> dict[str, str]:
    # Only PATH and HOME from the outside: a developer's own variables must not change a result.
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    env |= SECRETS
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _config(
    compose_bin: str, path: Path, *args: str, **env: str | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [compose_bin, "-f", str(path), "--profile", "jobs", "config", *args],
        capture_output=True, text=True, timeout=120, check=False, env=_env(**env), cwd=ROOT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def resolved(compose_bin: str) -> dict[str, Any]:
    """The top-level file, resolved: includes, extends and variables merged in."""
    done = _config(compose_bin, TOP, "--format", "json")
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


@pytest.fixture(scope="module")
def services(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Service name -> its resolved definition."""
    found: dict[str, dict[str, Any]] = resolved["services"]
    return found


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (service.get("environment") or {}).items() if v is not None}


@pytest.mark.parametrize("path", [TOP, BASE, *FOLDERS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_compose_file_is_valid_on_its_own(compose_bin: str, path: Path) -> None:
    done = _config(compose_bin, path, "--quiet")
    assert done.returncode == 0, f"{path.relative_to(ROOT)}: {done.stderr}"


def test_the_top_level_file_includes_every_service_folder() -> None:
    included = {ROOT / entry for entry in yaml.safe_load(TOP.read_text())["include"]}
    assert included == set(FOLDERS)
    for folder in ("kafka", "minio", "clickhouse", "api", "producer", "stream-processors",
                   "airflow", "spark", "metabase"):  # fmt: skip
        assert ROOT / folder / "compose.yaml" in included, folder


def test_secrets_have_no_defaults(compose_bin: str, services: dict[str, dict[str, Any]]) -> None:
    """Without a secret the deployment refuses to start; with it, it is the value given."""
    done = _config(compose_bin, TOP, "--quiet", MINIO_ROOT_PASSWORD=None)
    assert done.returncode != 0
    assert "MINIO_ROOT_PASSWORD" in done.stderr
    given = set(SECRETS.values())
    secret_name = re.compile(r"PASS|SECRET|TOKEN|ACCESS_KEY|ROOT_USER")
    for name, service in services.items():
        for key, value in _environment(service).items():
            if secret_name.search(key) and not key.endswith("_FILE"):
                assert value in given, f"{name}: {key} is not taken from a required variable"


def test_ghlake_services_set_only_where_things_are(services: dict[str, dict[str, Any]]) -> None:
    """No compose file retypes a ghlake setting: topic, ports, bucket, groups come from
    settings.py inside the image; and the addresses it gives use those settings' ports."""
    defaults = Settings()
    ghlake_services = {n: s for n, s in services.items() if "GHLAKE_MODE" in _environment(s)}
    assert {"api", "lake-writer", "poller", "producer", "kafka-init", "minio-init",
            "clickhouse-init", "airflow-scheduler"} <= set(ghlake_services)  # fmt: skip
    for name, service in ghlake_services.items():
        env = {k: v for k, v in _environment(service).items() if k.startswith("GHLAKE_")}
        retyped = set(env) - DEPLOYMENT_SETTINGS
        assert not retyped, f"{name} sets {retyped}: leave them to src/ghlake/settings.py"
        assert env["GHLAKE_MODE"] == "prod"
        brokers = env["GHLAKE_KAFKA__EXTERNAL_BOOTSTRAP"].split(",")
        assert {b.rsplit(":", 1)[1] for b in brokers} == {str(defaults.kafka.port)}
        assert int(env["GHLAKE_KAFKA__BROKERS"]) == len(brokers)  # topics replicated over all
        assert env["GHLAKE_MINIO__EXTERNAL_ENDPOINT"] == f"minio:{defaults.minio.port}"
        assert env["GHLAKE_LEDGER__URL"].endswith("@postgres:5432/ghlake")
        # Prod settings accept what the deployment gives (every required secret is there).
        with pytest.MonkeyPatch.context() as patch:
            for key in list(os.environ):
                if key.startswith("GHLAKE_"):
                    patch.delenv(key)
            for key, value in env.items():
                patch.setenv(key, value)
            Settings()


def _ports(service: dict[str, Any]) -> set[int]:
    published = {int(p["target"]) for p in service.get("ports") or []}
    return published | {int(p) for p in service.get("expose") or []}


def test_ports_are_the_settings_ports(services: dict[str, dict[str, Any]]) -> None:
    s = Settings()
    expected = {
        **{f"kafka-{n}": {s.kafka.port, s.kafka.controller_port} for n in (1, 2, 3)},
        "minio": {s.minio.port, s.minio.console_port},
        "clickhouse": {s.warehouse.http_port, 9000},  # 9000: ClickHouse's native protocol
        "api": {s.api.port},
        "lake-writer": {s.lake.web_port},
        "airflow-api-server": {s.airflow.port},
        "spark-master": {s.spark.master_port, s.spark.master_ui_port},
        "spark-worker": {s.spark.worker_ui_port},
        "prometheus": {s.prometheus.port},
        "postgres": {5432},
        "metabase": {3000},
    }
    actual = {name: _ports(service) for name, service in services.items() if _ports(service)}
    assert actual == expected
    command = " ".join(services["minio"]["command"])
    assert f"--address :{s.minio.port}" in command
    assert f"--console-address :{s.minio.console_port}" in command
    master = services["spark-master"]["command"]
    assert master[master.index("--port") + 1] == str(s.spark.master_port)
    assert master[master.index("--webui-port") + 1] == str(s.spark.master_ui_port)
    worker = services["spark-worker"]["command"]
    assert worker[worker.index("--webui-port") + 1] == str(s.spark.worker_ui_port)
    assert worker[worker.index("--cores") + 1] == str(s.spark.worker_cores)
    assert worker[worker.index("--memory") + 1] == s.spark.worker_memory
    assert worker[-1] == f"spark://spark-master:{s.spark.master_port}"


def _properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def test_kafka_brokers_are_configured_as_the_local_one(services: dict[str, dict[str, Any]]) -> None:
    """Every KAFKA_* of a compose broker that kafka/server.properties also sets has its value,
    except what differs between one node and a cluster; listeners use the settings' ports."""
    s = Settings()
    local = _properties(ROOT / "kafka" / "server.properties")
    cluster_only = {"node.id", "controller.quorum.voters", "listeners", "advertised.listeners",
                    "log.dirs", "offsets.topic.replication.factor", "min.insync.replicas",
                    "default.replication.factor", "transaction.state.log.replication.factor",
                    "transaction.state.log.min.isr", "num.network.threads", "num.io.threads",
                    "share.coordinator.state.topic.replication.factor",
                    "share.coordinator.state.topic.min.isr"}  # fmt: skip
    for n in (1, 2, 3):
        env = _environment(services[f"kafka-{n}"])
        props = {k.removeprefix("KAFKA_").lower().replace("_", "."): v
                 for k, v in env.items() if k.startswith("KAFKA_")}  # fmt: skip
        shared = (set(props) & set(local)) - cluster_only
        assert len(shared) >= 8, shared
        for key in shared:
            assert props[key] == local[key], f"kafka-{n}: {key}"
        assert props["listeners"] == (
            f"PLAINTEXT://:{s.kafka.port},CONTROLLER://:{s.kafka.controller_port}"
        )
        assert props["advertised.listeners"] == f"PLAINTEXT://kafka-{n}:{s.kafka.port}"
        assert int(props["log.retention.hours"]) * 3_600_000 == s.kafka.retention_ms
        assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("3", "2")


def test_clickhouse_users_are_the_warehouse_settings(services: dict[str, dict[str, Any]]) -> None:
    """The server's users and the analyst's limits equal the embedded warehouse's."""
    w = Settings().warehouse
    env = _environment(services["clickhouse"])
    assert env["CLICKHOUSE_USER"] == w.admin_user
    assert env["CLICKHOUSE_PASSWORD"] == SECRETS["GHLAKE_WAREHOUSE__ADMIN_PASSWORD"]
    users = ET.parse(ROOT / "clickhouse" / "server" / "users.d" / "ghlake.xml").getroot()
    analyst = users.find(f"users/{w.analyst_user}")
    assert analyst is not None, f"no user {w.analyst_user}"
    password = analyst.find("password")
    assert password is not None
    assert password.get("from_env") == "GHLAKE_WAREHOUSE__ANALYST_PASSWORD"
    assert env[password.get("from_env", "")] == SECRETS["GHLAKE_WAREHOUSE__ANALYST_PASSWORD"]
    profile = users.find(f"profiles/{analyst.findtext('profile')}")
    assert profile is not None
    limits = {child.tag: child.text for child in profile}
    assert limits == {
        "readonly": "1",
        "max_execution_time": f"{w.analyst_max_execution_time:g}",
        "timeout_overflow_mode": "throw",
        "max_result_rows": str(w.analyst_max_result_rows),
        "result_overflow_mode": "throw",
        "max_memory_usage": str(w.analyst_max_memory_usage),
    }


def test_prometheus_scrapes_the_settings_ports(services: dict[str, dict[str, Any]]) -> None:
    s = Settings()
    config = yaml.safe_load((ROOT / "prometheus" / "compose-prometheus.yml").read_text())
    assert config["global"]["scrape_interval"] == f"{s.prometheus.scrape_interval_seconds}s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["api"]["static_configs"][0]["targets"] == [f"api:{s.api.port}"]
    assert jobs["lake-writer"]["dns_sd_configs"][0]["port"] == s.lake.web_port
    assert jobs["minio"]["static_configs"][0]["targets"] == [f"minio:{s.minio.port}"]
    command = services["prometheus"]["command"]
    assert f"--storage.tsdb.retention.time={s.prometheus.retention}" in command
    assert f"--web.listen-address=:{s.prometheus.port}" in command


def test_airflow_is_configured_as_ghlake_airflow_up(services: dict[str, dict[str, Any]]) -> None:
    """Every Airflow option the compose file shares with the local stack's environment
    (airflow_env) has its value; only addresses, paths and secrets differ."""
    local = airflow_env(Settings())
    differs = {
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__API__HOST",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW_CONN_GHLAKE_API",
    }
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "airflow-init"):  # fmt: skip
        env = _environment(services[name])
        shared = {k for k in env if k.startswith("AIRFLOW") and k in local} - differs
        assert len(shared) >= 12, shared
        for key in shared:
            assert env[key] == local[key], f"{name}: {key}"
        connection = json.loads(env["AIRFLOW_CONN_GHLAKE_API"])
        assert (connection["host"], connection["port"]) == ("api", json.loads(
            local["AIRFLOW_CONN_GHLAKE_API"])["port"])  # fmt: skip
        assert connection["password"] == SECRETS["GHLAKE_API__TOKEN"]


@pytest.fixture(autouse=True)
def _no_stray_settings() -> Iterator[None]:
    """Settings() in these tests reads the defaults, not a developer's GHLAKE_* variables."""
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("GHLAKE_"):
                patch.delenv(key)
        yield
