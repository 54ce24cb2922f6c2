"""The local Apache Kafka: jars from Maven Central, KRaft, one node or a small cluster.

Each node is a combined broker and controller (``kafka.brokers`` of them, 1 by default):
three combined nodes make a controller quorum that outlives one lost node, with three
JVMs instead of the six that separate controllers would take on a shared machine.

The jars are resolved once from the pinned manifest ``kafka/pom.xml`` into the
cache directory (keyed by the manifest's hash, so a new pin downloads anew).
The storage directory is formatted once; the broker then runs ``kafka.Kafka``
from that classpath.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from string import Template

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from ghlake.errors import ServiceError
from ghlake.services.cache import fill_once
from ghlake.services.supervisor import ProcessSpec
from ghlake.settings import KafkaSettings, Settings

__all__ = [
    "broker_healthy",
    "broker_spec",
    "ensure_kafka_jars",
    "format_storage",
    "java_argv",
    "kafka_version",
    "node_name",
    "wait_for_brokers",
]


def _pom(settings: Settings) -> Path:
    return settings.root / "kafka" / "pom.xml"


def kafka_version(settings: Settings) -> str:
    """The Kafka version pinned in ``kafka/pom.xml``."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", _pom(settings).read_text())
    if not match:
        raise ServiceError(f"{_pom(settings)} does not pin <kafka.version>")
    return match.group(1)


def _libs_dir(settings: Settings) -> Path:
    digest = hashlib.sha256(_pom(settings).read_bytes()).hexdigest()[:12]
    return settings.cache_dir / "kafka" / f"{kafka_version(settings)}-{digest}" / "libs"


def ensure_kafka_jars(settings: Settings) -> Path:
    """Resolve the broker's jars into the cache once; return the folder that holds them."""

    def resolve(staging: Path) -> None:
        if shutil.which("mvn") is None:
            raise ServiceError("Maven (mvn) is needed once to fetch the Kafka jars; install it")
        argv = [
            "mvn", "-B", "-q", "-f", str(_pom(settings)),
            "dependency:copy-dependencies", "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(
                f"resolving the Kafka jars with Maven failed ({result.returncode}):\n"
                f"{(result.stdout + result.stderr)[-2000:]}"
            )
        (staging / ".complete").write_text(kafka_version(settings) + "\n")

    return fill_once(_libs_dir(settings), lambda libs: (libs / ".complete").is_file(), resolve)


def java_argv(settings: Settings, main_class: str, *args: str, heap: str = "256m") -> list[str]:
    """A ``java`` command line running ``main_class`` from the Kafka classpath.

    The jars must be in the cache already (:func:`ensure_kafka_jars`).
    """
    java = shutil.which("java") or "java"
    libs = _libs_dir(settings)
    log_config = settings.root / "kafka" / "log4j2.xml"
    return [
        java, f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        *shlex.split(settings.kafka.java_options),
        f"-Dlog4j2.configurationFile={log_config}",
        "-cp", f"{libs}/*", main_class, *args,
    ]  # fmt: skip


def node_name(node: int) -> str:
    """The stack's name of local Kafka node ``node``: ``kafka``, then ``kafka-2``, ``kafka-3``."""
    return "kafka" if node == 1 else f"kafka-{node}"


def _node_dir(settings: Settings, node: int) -> Path:
    # Node 1 keeps the single broker's folder, so a one-node stack's data stays where it was.
    return settings.state_dir / node_name(node)


def _render_config(settings: Settings, node: int) -> Path:
    kafka = settings.kafka
    template = Template((settings.root / "kafka" / "server.properties").read_text())
    port, controller_port = kafka.node_ports(node)
    voters = ",".join(
        f"{n}@{kafka.host}:{kafka.node_ports(n)[1]}" for n in range(1, kafka.brokers + 1)
    )
    text = template.substitute(
        host=kafka.host,
        port=port,
        controller_port=controller_port,
        node_id=node,
        voters=voters,
        replication_factor=kafka.replication_factor,
        min_insync_replicas=kafka.min_insync_replicas,
        log_dirs=_node_dir(settings, node) / "data",
    )
    path = _node_dir(settings, node) / "server.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _shared_cluster_id(settings: Settings) -> str:
    """The cluster id every node is formatted with: node 1's, or a new one kept beside it."""
    meta = _node_dir(settings, 1) / "data" / "meta.properties"
    if meta.is_file():
        match = re.search(r"^cluster\.id=(\S+)$", meta.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    path = settings.state_dir / "kafka-cluster.id"
    if not path.is_file():  # the nodes are formatted at once: the first link wins
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{uuid.uuid4().hex}")
        draft.write_text(_cluster_id() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


def format_storage(settings: Settings, node: int = 1) -> Path:
    """Render node ``node``'s config and format its KRaft storage once; return the config path.

    Every node of a cluster is formatted with the same cluster id. The quorum is static
    (``controller.quorum.voters``): changing ``kafka.brokers`` needs a fresh ``GHLAKE_HOME``.
    """
    ensure_kafka_jars(settings)
    config = _render_config(settings, node)
    data_dir = _node_dir(settings, node) / "data"
    if (data_dir / "meta.properties").is_file():
        return config
    # "--cluster-id=..." keeps an id that starts with "-" from reading as an option.
    argv = java_argv(
        settings,
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={_shared_cluster_id(settings)}",
        "--config",
        str(config),
    )
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(
            f"formatting Kafka storage in {data_dir} failed:\n{result.stdout}{result.stderr}"
        )
    return config


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    import base64  # noqa: PLC0415

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def broker_healthy(bootstrap: str) -> bool:
    """Whether a broker answers metadata requests at ``bootstrap``."""
    return _broker_healthy(bootstrap)


def _broker_healthy(bootstrap: str) -> bool:
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 2000, "log_level": 0})
    metadata = admin.list_topics(timeout=2)
    return bool(metadata.brokers)


def wait_for_brokers(kafka: KafkaSettings, timeout: float = 90) -> None:
    """Wait until the cluster's metadata lists all :attr:`~KafkaSettings.brokers` nodes.

    Topics with three replicas can only be created once three brokers are registered.
    """
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            seen = len(admin.list_topics(timeout=5).brokers)
        except KafkaException:
            seen = 0
        if seen >= kafka.brokers:
            return
        time.sleep(0.5)
    nodes = ", ".join(node_name(n) for n in range(1, kafka.brokers + 1))
    raise ServiceError(
        f"only {seen} of {kafka.brokers} Kafka brokers registered at {kafka.bootstrap} "
        f"after {timeout:.0f}s; see the logs of {nodes}"
    )


def broker_spec(settings: Settings, node: int = 1) -> ProcessSpec:
    """How to run node ``node``; call :func:`format_storage` for it before starting it."""
    config = _node_dir(settings, node) / "server.properties"
    address = f"{settings.kafka.host}:{settings.kafka.node_ports(node)[0]}"
    return ProcessSpec(
        name=node_name(node),
        argv=java_argv(settings, "kafka.Kafka", str(config), heap=settings.kafka.heap),
        address=address,
        health=lambda: _broker_healthy(address),
        ready_timeout=90,
        stop_timeout=30,
    )
