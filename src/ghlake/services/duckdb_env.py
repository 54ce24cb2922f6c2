"""DuckDB with its delta extension, a reader of the lake from outside ghlake.

The extension is published on PyPI as ``duckdb-ext-delta`` (with ``duckdb-ext-httpfs``
for S3), built for one DuckDB version, 1.4.4, while ghlake's own venv has DuckDB 2.x.
So it lives in a venv of its own in the cache, installed from the hash lock
``minio/duckdb/requirements.lock``, and :func:`duckdb_counts` runs
``minio/duckdb/count.py`` there.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

from ghlake.errors import ServiceError
from ghlake.services.venvs import install_lock
from ghlake.settings import Settings

__all__ = ["duckdb_counts", "ensure_duckdb_venv"]


def ensure_duckdb_venv(settings: Settings) -> Path:
    """The DuckDB venv's interpreter, installed from the lock when it changed."""
    lock = settings.root / "minio" / "duckdb" / "requirements.lock"
    return install_lock(settings, settings.cache_dir / "duckdb-venv", lock) / "bin" / "python"


def duckdb_counts(
    settings: Settings, table_uri: str, hours: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """Per source hour: the table's events and distinct identities, as DuckDB reads them."""
    python = ensure_duckdb_venv(settings)
    arguments = {
        "endpoint": settings.minio.endpoint,
        "key": settings.minio_access_key,
        "secret": settings.minio_secret_key,
        "table": table_uri,
        "hours": sorted(hours),
    }
    script = settings.root / "minio" / "duckdb" / "count.py"
    result = subprocess.run(
        [str(python), str(script)], input=json.dumps(arguments), capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise ServiceError(f"DuckDB could not read {table_uri}:\n{result.stderr[-2000:]}")
    return {hour: (n, distinct) for hour, (n, distinct) in json.loads(result.stdout).items()}
