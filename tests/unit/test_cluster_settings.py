"""The cluster's shape in settings: brokers and their ports, replication, drives, workers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ghlake.cli.main import app
from ghlake.errors import ConfigError
from ghlake.kafka.topics import event_topics
from ghlake.services.kafka_broker import _render_config, java_argv
from ghlake.services.minio_server import minio_drive_dirs, minio_spec
from ghlake.services.prometheus_server import prometheus_config
from ghlake.services.stack import Stack, _runs
from ghlake.settings import KafkaSettings, Settings, load_settings
from ghlake.warehouse.ddl import render_pipeline


@pytest.fixture(autouse=True)
def _defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from their defaults: the integration suite's stack exports its ports."""
    for name in list(os.environ):
        if name.startswith("GHLAKE_") and name not in ("GHLAKE_HOME", "GHLAKE_CACHE_DIR"):
            monkeypatch.delenv(name)


def test_one_broker_by_default_with_one_replica() -> None:
    kafka = KafkaSettings()
    assert kafka.bootstrap == "127.0.0.1:9092"
    assert (kafka.replication_factor, kafka.min_insync_replicas) == (1, 1)
    for topic in event_topics(kafka):
        assert topic.replication_factor == 1
        assert topic.config["min.insync.replicas"] == "1"


def test_three_brokers_list_every_node_and_replicate_three_times() -> None:
    kafka = KafkaSettings(brokers=3)
    assert kafka.bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert [kafka.node_ports(n) for n in (1, 2, 3)] == [(9092, 9093), (9094, 9095), (9096, 9097)]
    assert (kafka.replication_factor, kafka.min_insync_replicas) == (3, 2)
    for topic in event_topics(kafka):
        assert topic.replication_factor == 3
        assert topic.config["min.insync.replicas"] == "2"


@pytest.mark.parametrize(("brokers", "replicas", "in_sync"), [(2, 2, 1), (5, 3, 2)])
def test_replication_follows_the_broker_count(brokers: int, replicas: int, in_sync: int) -> None:
    kafka = KafkaSettings(brokers=brokers)
    assert (kafka.replication_factor, kafka.min_insync_replicas) == (replicas, in_sync)


def test_an_external_cluster_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_KAFKA__EXTERNAL_BOOTSTRAP", "k1:9092,k2:9092,k3:9092")
    monkeypatch.setenv("GHLAKE_KAFKA__BROKERS", "3")
    settings = load_settings()
    assert settings.kafka.bootstrap == "k1:9092,k2:9092,k3:9092"
    assert not [s for s in Stack(settings).services if s.name.startswith("kafka")]


def test_overlapping_node_ports_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_KAFKA__BROKERS", "3")
    monkeypatch.setenv("GHLAKE_KAFKA__CONTROLLER_PORT", "9094")  # node 2's client port
    with pytest.raises(ConfigError, match="overlapping"):
        load_settings()


@pytest.mark.parametrize("name", ["LAKE__WRITERS", "WAREHOUSE__CONSUMERS"])
def test_more_workers_than_partitions_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("GHLAKE_KAFKA__PARTITIONS", "3")
    monkeypatch.setenv(f"GHLAKE_{name}", "3")
    load_settings()  # as many as partitions: fine
    monkeypatch.setenv(f"GHLAKE_{name}", "4")
    with pytest.raises(ConfigError, match=r"more than the topic's partitions \(3\)"):
        load_settings()


def test_each_node_config_names_the_whole_quorum(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka={"brokers": 3})  # type: ignore[arg-type]
    text = _render_config(settings, 2).read_text()
    assert "node.id=2\n" in text
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    assert f"controller.quorum.voters={voters}\n" in text
    assert "listeners=PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095\n" in text
    assert "offsets.topic.replication.factor=3\n" in text
    assert "min.insync.replicas=2\n" in text
    assert not [line for line in text.splitlines() if "$" in line and not line.startswith("#")]
    single = _render_config(Settings(home=tmp_path / "one"), 1).read_text()
    assert "controller.quorum.voters=1@127.0.0.1:9093\n" in single
    assert "offsets.topic.replication.factor=1\n" in single


def test_the_stack_starts_every_node_and_writer_together(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        kafka={"brokers": 3},  # type: ignore[arg-type]
        lake={"writers": 2},  # type: ignore[arg-type]
    )
    services = {s.name: s for s in Stack(settings).services}
    core = [s for s in Stack(settings).services if s.group is None]
    assert [[s.name for s in run] for run in _runs(core)] == [
        ["kafka", "kafka-2", "kafka-3", "minio"],
        ["warehouse", "lake-writer", "lake-writer-2"],
        ["api"], ["prometheus"],
    ]  # fmt: skip
    assert services["kafka-3"].spec().address == "127.0.0.1:9096"
    writer = services["lake-writer-2"].spec()
    assert writer.env["GHLAKE_LAKE__WEB_PORT"] == "6067"
    assert writer.address == "http://127.0.0.1:6067"
    jobs = {job["job_name"]: job for job in prometheus_config(settings)["scrape_configs"]}
    targets = jobs["lake-writer"]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:6066", "127.0.0.1:6067"]
    single = [s for s in Stack(Settings(home=tmp_path)).services if s.group is None]
    assert [[s.name for s in run] for run in _runs(single)] == [
        ["kafka", "minio"],
        ["warehouse", "lake-writer"],
        ["api"],
        ["prometheus"],
    ]


def test_minio_on_four_drives_uses_one_erasure_set(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, minio={"drives": 4})  # type: ignore[arg-type]
    dirs = minio_drive_dirs(settings)
    assert [d.name for d in dirs] == ["data1", "data2", "data3", "data4"]
    argv = minio_spec(settings).argv
    assert f"{tmp_path.resolve()}/minio/data{{1...4}}" in argv
    assert minio_spec(settings).env["MINIO_CI_CD"] == "on"
    one = Settings(home=tmp_path)
    assert [d.name for d in minio_drive_dirs(one)] == ["data"]
    assert "MINIO_CI_CD" not in minio_spec(one).env


def test_warehouse_consumers_render_into_the_kafka_engine(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, warehouse={"consumers": 2})  # type: ignore[arg-type]
    queue = next(s for s in render_pipeline(settings).statements if "ENGINE = Kafka" in s)
    assert "kafka_num_consumers = 2," in queue
    assert "kafka_thread_per_consumer = 1" in queue
    assert "kafka_broker_list = '127.0.0.1:9092'" in queue
    one = next(
        s for s in render_pipeline(Settings(home=tmp_path)).statements if "ENGINE = Kafka" in s
    )
    assert "kafka_num_consumers = 1," in one
    assert "kafka_thread_per_consumer = 0" in one


def test_down_also_stops_nodes_and_writers_beyond_the_configured_counts(tmp_path: Path) -> None:
    stack = Stack(Settings(home=tmp_path))
    run = stack.supervisor.run_dir
    run.mkdir(parents=True)
    # A third Kafka node left by `up --kafka-brokers 3` (a stand-in process) and a stale pid file.
    node = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (run / "kafka-3.pid").write_text(f"{node.pid}\n")
        (run / "lake-writer-2.pid").write_text("999999999\n")
        statuses = {s.name: s for s in stack.down()}
        assert node.wait(timeout=10) is not None
        assert statuses["kafka-3"].changed
        assert "lake-writer-2" not in statuses
    finally:
        node.kill()


def test_up_refuses_more_lake_writers_than_partitions_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GHLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("GHLAKE_KAFKA__PARTITIONS", "6")
    monkeypatch.setenv("GHLAKE_LAKE__WRITERS", "1")  # restored after the test: `up` sets it
    result = CliRunner().invoke(app, ["up", "--lake-writers", "7"])
    assert isinstance(result.exception, ConfigError)
    assert "lake.writers (7) is more than the topic's partitions (6)" in str(result.exception)
    assert not (tmp_path / "run").exists(), "nothing was started"


def test_the_kafka_java_options_reach_the_nodes_jvms(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka={"java_options": "-XX:TieredStopAtLevel=1 -Xss1m"})  # type: ignore[arg-type]
    argv = java_argv(settings, "kafka.Kafka", "server.properties")
    assert argv[argv.index("-XX:TieredStopAtLevel=1") + 1] == "-Xss1m"
    assert argv.index("-Xss1m") < argv.index("kafka.Kafka")
    assert "-XX:TieredStopAtLevel=1" not in java_argv(Settings(home=tmp_path), "kafka.Kafka")
