"""The local MinIO server, built once from a pinned source release.

One drive by default; with ``minio.drives`` = 4 (up to 16) one server erasure-codes every
object over that many folders (``data{1...4}``): any drive's data may be lost and is
healed from the other three. One server rather than four on loopback ports: the same
erasure set and healing, a quarter of the processes on a shared machine.

MinIO publishes source only, so the binary is built with ``go install`` of the
module version pinned in ``minio/VERSION`` into the cache directory (a few
minutes on two cores, once per pin).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import httpx

from ghlake.errors import ServiceError
from ghlake.services.cache import fill_once
from ghlake.services.supervisor import ProcessSpec
from ghlake.settings import Settings

__all__ = [
    "ensure_minio_binary",
    "minio_data_dir",
    "minio_drive_dirs",
    "minio_module",
    "minio_spec",
    "prepare_minio_drives",
]


def minio_module(settings: Settings) -> str:
    """The pinned ``module@version`` from ``minio/VERSION``."""
    path = settings.root / "minio" / "VERSION"
    lines = [line.strip() for line in path.read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    if len(pins) != 1 or "@" not in pins[0]:
        raise ServiceError(f"{path} must hold exactly one module@version line")
    return pins[0]


def _binary_path(settings: Settings) -> Path:
    digest = hashlib.sha256(minio_module(settings).encode()).hexdigest()[:12]
    return settings.cache_dir / "minio" / digest / "minio"


def ensure_minio_binary(settings: Settings) -> Path:
    """Build the pinned MinIO server into the cache once; return the binary."""

    def build(staging: Path) -> None:
        go = shutil.which("go")
        if go is None:
            raise ServiceError("Go is needed once to build the MinIO server; install Go 1.24+")
        env = {**os.environ, "GOBIN": str(staging), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
        result = subprocess.run(
            [go, "install", minio_module(settings)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not (staging / "minio").is_file():
            raise ServiceError(
                f"building MinIO ({minio_module(settings)}) failed:\n{result.stderr[-3000:]}"
            )

    folder = fill_once(_binary_path(settings).parent, _has_binary, build)
    return folder / "minio"


def _has_binary(folder: Path) -> bool:
    return os.access(folder / "minio", os.X_OK)


def _minio_healthy(endpoint: str) -> bool:
    # Not /minio/health/live: that answers 200 as soon as the process listens, while
    # S3 calls still get 503 until the object layer is initialized; the cluster
    # probe answers 200 only once the storage can take writes.
    response = httpx.get(f"http://{endpoint}/minio/health/cluster", timeout=2)
    return response.status_code == 200


def minio_data_dir(settings: Settings) -> Path:
    """Where the local MinIO keeps its objects (on one drive; see :func:`minio_drive_dirs`)."""
    return settings.state_dir / "minio" / "data"


def minio_drive_dirs(settings: Settings) -> list[Path]:
    """The local MinIO's drives: ``data`` alone, or ``data1`` ... ``dataN`` erasure-coded."""
    drives = settings.minio.drives
    if drives == 1:
        return [minio_data_dir(settings)]
    return [settings.state_dir / "minio" / f"data{n}" for n in range(1, drives + 1)]


def prepare_minio_drives(settings: Settings) -> list[Path]:
    """Create the drive folders (MinIO formats them itself on its first start)."""
    dirs = minio_drive_dirs(settings)
    for path in dirs:
        path.mkdir(parents=True, exist_ok=True)
    return dirs


def _drive_args(settings: Settings) -> list[str]:
    if settings.minio.drives == 1:
        return [str(minio_data_dir(settings))]
    # MinIO's ellipsis notation: one erasure set over data1 ... dataN on this server.
    return [f"{settings.state_dir / 'minio'}/data{{1...{settings.minio.drives}}}"]


def minio_spec(settings: Settings) -> ProcessSpec:
    """How to run the MinIO server on loopback with its data under the state directory."""
    minio = settings.minio
    endpoint = minio.endpoint
    return ProcessSpec(
        name="minio",
        argv=[
            str(_binary_path(settings)),
            "server",
            *_drive_args(settings),
            "--quiet",
            "--address",
            f"{minio.host}:{minio.port}",
            "--console-address",
            f"{minio.host}:{minio.console_port}",
        ],
        address=f"http://{endpoint}",
        health=lambda: _minio_healthy(endpoint),
        env={
            "MINIO_ROOT_USER": settings.minio_access_key,
            "MINIO_ROOT_PASSWORD": settings.minio_secret_key,
            "MINIO_UPDATE": "off",
            "MINIO_BROWSER_REDIRECT": "off",
            # /minio/v2/metrics/cluster without a bearer token, for the local Prometheus.
            "MINIO_PROMETHEUS_AUTH_TYPE": "public",
            # Several drives in folders of one disk: MinIO refuses drives on the root disk
            # unless told this is a test set-up (CI/CD mode); real drives need no such flag.
            **({"MINIO_CI_CD": "on"} if minio.drives > 1 else {}),
        },
        ready_timeout=60,
    )
