"""The local Prometheus server (Debian's ``prometheus`` package), scraping every service.

Its configuration is generated from the settings at each start (the ports of this
stack), into ``GHLAKE_HOME/prometheus/prometheus.yml``; the alert rules are the
checked-in ``prometheus/rules/*.yml``, tested by ``promtool test rules``
(``prometheus/tests/``). JSON is YAML, so the configuration is written with the
standard library. There is no JMX exporter for the broker: every figure ghlake alerts
on (lag, statuses, dead letters) is read from the groups and topics by the lag
monitor, and a Java agent would cost the broker's start-up and a download for
broker-internal metrics nothing here uses.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx

from ghlake.errors import ServiceError
from ghlake.services.supervisor import ProcessSpec
from ghlake.settings import Settings

__all__ = ["prometheus_binary", "prometheus_config", "prometheus_spec", "write_prometheus_config"]


def prometheus_binary(name: str = "prometheus") -> str:
    """The ``prometheus`` (or ``promtool``) executable, installed by scripts/install.sh."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
    )
    if found is None:
        raise ServiceError(
            f"{name} is missing: install Debian's package (apt-get install prometheus), "
            "or run scripts/install.sh as root, or set GHLAKE_PROMETHEUS__ENABLED=false"
        )
    return found


def _home(settings: Settings) -> Path:
    return settings.state_dir / "prometheus"


def scrape_targets(settings: Settings) -> dict[str, tuple[str, str]]:
    """Job name -> (host:port, metrics path) of every service of the stack (the lake
    writers' job names the first writer; the configuration lists each of them)."""
    lake, minio = settings.lake, settings.minio
    targets = {
        "api": (f"{settings.api.host}:{settings.api.port}", "/metrics"),
        "warehouse": (f"{settings.warehouse.host}:{settings.warehouse.port}", "/metrics"),
        "lake-writer": (f"{lake.web_host}:{lake.web_port}", "/metrics"),
        "prometheus": (f"{settings.prometheus.host}:{settings.prometheus.port}", "/metrics"),
    }
    if minio.external_endpoint is None:  # the local MinIO serves its metrics without auth
        targets["minio"] = (minio.endpoint, "/minio/v2/metrics/cluster")
    return targets


def prometheus_config(settings: Settings) -> dict[str, Any]:
    """The configuration: one scrape job per service, and the rules of ``prometheus/rules``."""
    interval = f"{settings.prometheus.scrape_interval_seconds}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [
            str(path) for path in sorted((settings.root / "prometheus" / "rules").glob("*.yml"))
        ],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": path,
                "static_configs": [{"targets": _instances(settings, job, address)}],
            }
            for job, (address, path) in scrape_targets(settings).items()
        ],
    }


def _instances(settings: Settings, job: str, address: str) -> list[str]:
    """The job's targets: every lake writer (one job, an instance each), else the one."""
    if job != "lake-writer":
        return [address]
    lake = settings.lake
    return [f"{lake.web_host}:{lake.web_port + n}" for n in range(lake.writers)]


def write_prometheus_config(settings: Settings) -> Path:
    """Write the configuration under the state directory; return its path."""
    home = _home(settings)
    (home / "data").mkdir(parents=True, exist_ok=True)
    path = home / "prometheus.yml"
    path.write_text(json.dumps(prometheus_config(settings), indent=2) + "\n")
    return path


def _ready(url: str) -> bool:
    return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200


def prometheus_spec(settings: Settings) -> ProcessSpec:
    """How to run Prometheus on loopback with its data under the state directory."""
    prometheus = settings.prometheus
    home = _home(settings)
    return ProcessSpec(
        name="prometheus",
        argv=[
            prometheus_binary(),
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--storage.tsdb.retention.time={prometheus.retention}",
            f"--web.listen-address={prometheus.host}:{prometheus.port}",
            f"--web.console.templates={home}",  # none; keeps Debian's /etc paths out
            f"--web.console.libraries={home}",
        ],
        address=prometheus.url,
        health=lambda: _ready(prometheus.url),
        ready_timeout=60,
    )
