"""The Spark environment's pins and configuration, without starting Spark."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ghlake.services.spark import SparkEnvironment, _artifact
from ghlake.services.stack import Stack
from ghlake.settings import Settings
from tests.unit.test_lock import _canonical

ROOT = Path(__file__).resolve().parents[2]
SPARK = ROOT / "spark"


def _pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return {_canonical(name): version for name, version in found}


def test_the_lock_pins_the_spark_packages_and_ghlakes_dependencies_with_hashes() -> None:
    pins = _pins(SPARK / "requirements.lock")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [
        line.split("#")[0].strip() for line in (SPARK / "requirements.in").read_text().splitlines()
    ]
    for line in [*project["dependencies"], *filter(None, wanted)]:
        requirement = Requirement(line)
        name = _canonical(requirement.name)
        assert name in pins, f"{name} is not in spark/requirements.lock (make spark-lock)"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]}"
    entries = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (SPARK / "requirements.lock").read_text())
    assert all("--hash=sha256:" in e for e in entries if "==" in e.split("\n", 1)[0])


def test_pyspark_and_the_pom_name_one_spark_version() -> None:
    pom = (SPARK / "pom.xml").read_text()
    version = re.search(r"<spark.version>([^<]+)</spark.version>", pom)
    assert version is not None
    assert _pins(SPARK / "requirements.lock")["pyspark"] == version.group(1)


def test_jar_names_lose_only_their_version() -> None:
    assert _artifact(Path("kafka-clients-3.9.1.jar")) == "kafka-clients"
    assert _artifact(Path("delta-spark_2.13-4.2.0.jar")) == "delta-spark_2.13"
    assert _artifact(Path("netty-codec-http2-4.1.115.Final.jar")) == "netty-codec-http2"
    assert _artifact(Path("hadoop-client-api-3.4.2.jar")) == "hadoop-client-api"


def test_the_configuration_points_spark_at_the_settings_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The integration suite's stack exports its Spark options into the session; defaults here.
    monkeypatch.delenv("GHLAKE_SPARK__JAVA_OPTIONS", raising=False)
    settings = Settings(
        cache_dir=tmp_path, minio={"port": 9100, "bucket": "lake"},  # type: ignore[arg-type]
        spark={"driver_ui_port": 0, "workers": 2, "worker_cores": 3},  # type: ignore[arg-type]
    )  # fmt: skip
    environment = SparkEnvironment(settings)
    conf = environment.conf()
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9100"
    assert conf["spark.hadoop.fs.s3a.secret.key"] == settings.minio_secret_key
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "6"
    assert environment.master_url() == "local[*]"
    assert environment.lake_url("t") == "s3a://lake/t"
    assert environment.consumer_group("q") == "ghlake-spark-q"
    assert conf["spark.executor.extraJavaOptions"] == ""


def test_the_java_options_reach_every_spark_jvm(tmp_path: Path) -> None:
    options = "-XX:TieredStopAtLevel=1"
    environment = SparkEnvironment(Settings(cache_dir=tmp_path, spark={"java_options": options}))  # type: ignore[arg-type]
    assert environment.conf()["spark.executor.extraJavaOptions"] == options
    assert environment.env()["SPARK_SUBMIT_OPTS"] == options  # drivers: pyspark, spark-submit
    assert environment.env()["SPARK_DAEMON_JAVA_OPTS"] == options  # the master, the workers


def test_the_cluster_is_started_on_demand_and_shown_only_while_it_runs(tmp_path: Path) -> None:
    stack = Stack(Settings(home=tmp_path, spark={"workers": 2}))  # type: ignore[arg-type]
    names = [s.name for s in stack.services]
    assert names[-3:] == ["spark-master", "spark-worker-1", "spark-worker-2"]
    assert all(s.group == "spark" for s in stack.services[-3:])
    assert all(s.group != "spark" for s in stack.services[:-3])
    assert not {s.name for s in stack.status()} & set(names[-3:])
