"""ghlake's API as the DAGs reach it: the Airflow connection ``ghlake_api``.

``ghlake airflow up`` defines the connection in every component's environment
(``AIRFLOW_CONN_GHLAKE_API``: host, port, and the API token as its password), so no
DAG holds an address or a secret.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException

CONNECTION = "ghlake_api"
# The lake and the warehouse as one Asset: every backfilled hour updates it, and
# lake_compaction runs when it was updated.
EVENTS_ASSET = "ghlake_events"


def ghlake_api() -> httpx.Client:
    """A client of ghlake's API with the token on every request."""
    conn = BaseHook.get_connection(CONNECTION)
    return httpx.Client(
        base_url=f"{conn.schema or 'http'}://{conn.host}:{conn.port}",
        headers={"Authorization": f"Bearer {conn.password}"},
        timeout=30,
    )


def call(method: str, path: str, **kwargs: Any) -> Any:
    """One API call; a 4xx is the request's fault (no retry helps), the rest is retried."""
    with ghlake_api() as client:
        response = client.request(method, path, **kwargs)
    if response.is_client_error:
        from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415

        raise AirflowFailException(f"{method} {path}: {response.status_code} {response.text}")
    if response.is_error:
        raise AirflowException(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


def ghlake_bin() -> str:
    """ghlake's own CLI (its venv, the stack's settings), for shell tasks."""
    return os.environ.get("GHLAKE_BIN", "ghlake")
