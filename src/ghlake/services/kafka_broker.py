"""The local Apache Kafka broker: jars from Maven Central, KRaft, one node.

The jars are resolved once from the pinned manifest ``kafka/pom.xml`` into the
cache directory (keyed by the manifest's hash, so a new pin downloads anew).
The storage directory is formatted once; the broker then runs ``kafka.Kafka``
from that classpath.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from string import Template

from confluent_kafka.admin import AdminClient

from ghlake.errors import ServiceError
from ghlake.services.cache import fill_once
from ghlake.services.supervisor import ProcessSpec
from ghlake.settings import Settings

__all__ = [
    "broker_healthy",
    "broker_spec",
    "ensure_kafka_jars",
    "format_storage",
    "java_argv",
    "kafka_version",
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
        f"-Dlog4j2.configurationFile={log_config}",
        "-cp", f"{libs}/*", main_class, *args,
    ]  # fmt: skip


def _broker_dir(settings: Settings) -> Path:
    return settings.state_dir / "kafka"


def _render_config(settings: Settings) -> Path:
    kafka = settings.kafka
    template = Template((settings.root / "kafka" / "server.properties").read_text())
    data_dir = _broker_dir(settings) / "data"
    text = template.substitute(
        host=kafka.host,
        port=kafka.port,
        controller_port=kafka.controller_port,
        log_dirs=data_dir,
    )
    path = _broker_dir(settings) / "server.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def format_storage(settings: Settings) -> Path:
    """Render the config and format the KRaft storage once; return the config path."""
    ensure_kafka_jars(settings)
    config = _render_config(settings)
    data_dir = _broker_dir(settings) / "data"
    if (data_dir / "meta.properties").is_file():
        return config
    cluster_id = _cluster_id()
    # "--cluster-id=..." keeps an id that starts with "-" from reading as an option.
    argv = java_argv(
        settings,
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",
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


def broker_spec(settings: Settings) -> ProcessSpec:
    """How to run the broker; call :func:`format_storage` before starting it."""
    config = _broker_dir(settings) / "server.properties"
    bootstrap = settings.kafka.bootstrap
    return ProcessSpec(
        name="kafka",
        argv=java_argv(settings, "kafka.Kafka", str(config), heap=settings.kafka.heap),
        address=bootstrap,
        health=lambda: _broker_healthy(bootstrap),
        ready_timeout=90,
        stop_timeout=30,
    )
