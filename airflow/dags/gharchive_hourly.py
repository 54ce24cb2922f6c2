"""gharchive_hourly: one run is one GH Archive hour, replayed through ghlake's API.

The run's logical date is the hour. ``replay`` queues a replay job of that hour
(``POST /v1/replays``); ``wait_replayed`` follows it in reschedule mode (no worker slot
held between pokes) and fails the run at once when GH Archive has no such hour (the
ledger says ``missing``); ``wait_reconciled`` waits until the lake and the warehouse
hold what the ledger says was published, and fails naming the stage that differs.
A done hour is a no-op: the replay skips hours the ledger has published, unless the
run's conf says ``"force": true``.

Backfills (``ghlake backfill``, ``/api/v2/backfills``) are what this DAG is for; its
own hourly schedule exists for that machinery (Airflow backfills only DAGs with one), and
its scheduled runs skip themselves unless ``GHLAKE_AIRFLOW__SCHEDULED_HOURLY_RUNS`` is
true (the live feed is ``ghlake poll``).
A backfilled run updates the lake's Asset, which triggers ``lake_compaction``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, PokeReturnValue, dag, get_current_context, task
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
)
from ghlake_http import EVENTS_ASSET, call

RECONCILE_TIMEOUT = timedelta(minutes=10)
POKE_SECONDS = 3
SCHEDULED = os.environ.get("GHLAKE_AIRFLOW__SCHEDULED_HOURLY_RUNS", "False").lower() == "true"


def _hour(logical_date: datetime) -> str:
    """The GH Archive name of the hour starting at ``logical_date``."""
    at = logical_date.astimezone(UTC)
    return f"{at:%Y-%m-%d}-{at.hour}"


@dag(
    schedule="@hourly",
    start_date=datetime(2011, 2, 12, tzinfo=UTC),
    catchup=False,
    max_active_runs=4,
    is_paused_upon_creation=False,
    tags=["ghlake", "backfill"],
    params={
        "source": Param(None, type=["null", "string"], description="folder or mirror URL"),
        "force": Param(False, type="boolean", description="publish a published hour again"),
    },
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=10),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=5),
    },
    doc_md=__doc__,
)
def gharchive_hourly() -> None:
    @task
    def replay() -> str:
        context = get_current_context()
        if context["dag_run"].run_type == "scheduled" and not SCHEDULED:
            raise AirflowSkipException("scheduled runs are off: the live feed is `ghlake poll`")
        hour = _hour(context["logical_date"])
        params = context["params"]
        body: dict[str, Any] = {"from": hour, "to": hour, "force": bool(params["force"])}
        if params["source"]:
            body["source"] = params["source"]
        job = call("POST", "/v1/replays", json=body)
        return str(job["id"])

    @task.sensor(poke_interval=POKE_SECONDS, timeout=3600, mode="reschedule")
    def wait_replayed(job_id: str) -> PokeReturnValue:
        job = call("GET", f"/v1/replays/{job_id}")
        if job["status"] in ("queued", "running"):
            return PokeReturnValue(is_done=False)
        error = job["error"] or ""
        if job["status"] != "done" or "failed" in error:
            raise AirflowException(f"replay job {job_id} ended {job['status']}: {error}")
        if "missing" in error:
            raise AirflowFailException(f"GH Archive has no such hour; ledger: {error}")
        if error:  # partial, corrupt: what could be read is published; the ledger says what
            raise AirflowFailException(f"the hour is not whole; ledger: {error}")
        return PokeReturnValue(is_done=True, xcom_value=job["updated_at"])

    @task.sensor(
        poke_interval=POKE_SECONDS,
        timeout=RECONCILE_TIMEOUT.total_seconds() + 60,
        mode="reschedule",
        outlets=[Asset(name=EVENTS_ASSET)],
    )
    def wait_reconciled(replayed_at: str) -> PokeReturnValue:
        hour = _hour(get_current_context()["logical_date"])
        counts = call("GET", "/v1/reconcile", params={"from": hour, "to": hour})["hours"]
        if all(c["reconciled"] for c in counts):
            return PokeReturnValue(is_done=True, xcom_value=counts)
        if datetime.now(UTC) - datetime.fromisoformat(replayed_at) > RECONCILE_TIMEOUT:
            c = counts[0]
            stages = [s for s in ("lake", "warehouse") if c[s] != c["published"]]
            raise AirflowFailException(
                f"hour {hour} not reconciled within {RECONCILE_TIMEOUT}: published "
                f"{c['published']}, lake {c['lake']}, warehouse {c['warehouse']}; "
                f"differs: {', '.join(stages)}"
            )
        return PokeReturnValue(is_done=False)

    wait_reconciled(wait_replayed(replay()))


gharchive_hourly()
