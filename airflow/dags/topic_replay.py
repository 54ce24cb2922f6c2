"""topic_replay: rebuild the lake, the warehouse or both from the retained topic.

Triggered by hand (or the API) with the store and the time range as params. It asks
ghlake's API to replay the topic (``POST /v1/topic-replays``) and follows the replay in
reschedule mode until it is done; a replay that failed (say, the range is no longer on
the topic) fails the run with the platform's error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param, PokeReturnValue, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from ghlake_http import call


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["ghlake", "backfill"],
    params={
        "store": Param("both", enum=["lake", "warehouse", "both"]),
        "from_time": Param(type="string", format="date-time", description="ISO-8601, UTC"),
        "to_time": Param(type="string", format="date-time", description="ISO-8601, UTC"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def topic_replay() -> None:
    @task
    def start() -> str:
        params = get_current_context()["params"]
        body = {key: params[key] for key in ("store", "from_time", "to_time")}
        return str(call("POST", "/v1/topic-replays", json=body)["id"])

    @task.sensor(poke_interval=10, timeout=6 * 3600, mode="reschedule")
    def wait_done(replay_id: str) -> PokeReturnValue:
        replay = call("GET", f"/v1/topic-replays/{replay_id}")
        if replay["status"] == "failed":
            raise AirflowFailException(f"topic replay {replay_id} failed: {replay['error']}")
        return PokeReturnValue(is_done=replay["status"] == "done", xcom_value=replay)

    wait_done(start())


topic_replay()
