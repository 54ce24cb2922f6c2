"""Airflow's secrets and environment: dev defaults, prod refusals, one JWT secret for all."""

from __future__ import annotations

import pytest

from ghlake.errors import ConfigError, ServiceError
from ghlake.services.airflow import airflow_env
from ghlake.services.stack import Stack, _runs
from ghlake.settings import DEV_AIRFLOW_JWT_SECRET, load_settings


def _prod_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"API__TOKEN": "a-real-token", "MINIO__ACCESS_KEY": "lake",
                        "MINIO__SECRET_KEY": "a-real-secret",
                        "WAREHOUSE__ANALYST_PASSWORD": "an-analyst-password",
                        "WAREHOUSE__ADMIN_PASSWORD": "an-admin-password"}.items():  # fmt: skip
        monkeypatch.setenv(f"GHLAKE_{name}", value)


def test_prod_refuses_the_dev_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    _prod_env(monkeypatch)
    monkeypatch.setenv("GHLAKE_AIRFLOW__JWT_SECRET", DEV_AIRFLOW_JWT_SECRET)
    with pytest.raises(ConfigError, match="JWT_SECRET is refused"):
        load_settings(mode="prod")


def test_prod_without_airflow_secrets_refuses_to_start_airflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _prod_env(monkeypatch)
    settings = load_settings(mode="prod")  # a deployment without Airflow needs none
    with pytest.raises(ConfigError, match="must be set in prod"):
        airflow_env(settings)
    monkeypatch.setenv("GHLAKE_AIRFLOW__ADMIN_PASSWORD", "an-airflow-password")
    monkeypatch.setenv("GHLAKE_AIRFLOW__JWT_SECRET", "a-long-random-secret")
    env = airflow_env(load_settings(mode="prod"))
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API__SECRET_KEY"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "a-long-random-secret"


def test_the_execution_api_follows_the_api_server_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_AIRFLOW__PORT", "18080")
    env = airflow_env(load_settings())
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__API__PORT"] == "18080"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS"] == "False"


def test_airflow_is_an_optional_group_of_the_stack() -> None:
    stack = Stack(load_settings())
    optional = [s.name for s in stack.services if s.group == "airflow"]
    assert optional == ["airflow-db", "airflow-api-server", "airflow-scheduler",
                        "airflow-dag-processor", "airflow-triggerer"]  # fmt: skip
    first = [s.name for s in stack.services].index("airflow-db")
    assert all(s.group is None for s in stack.services[:first]), "the core stack comes first"


def test_an_unknown_optional_part_is_refused_before_anything_starts() -> None:
    with pytest.raises(ServiceError, match="no optional part airfow"):
        Stack(load_settings()).up(with_groups=("airfow",))


def test_the_airflow_daemons_start_together_after_the_api_server() -> None:
    stack = Stack(load_settings())
    airflow = [s for s in stack.services if s.group == "airflow"]
    assert [[s.name for s in run] for run in _runs(airflow)] == [
        ["airflow-db"], ["airflow-api-server"],
        ["airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"],
    ]  # fmt: skip
