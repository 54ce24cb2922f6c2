"""lake_compaction: compact and vacuum the lake, OPTIMIZE what the warehouse holds of it.

Daily, and whenever backfilled hours updated the events Asset. One shell task runs
``ghlake lake maintain --json`` (ghlake's CLI builds the Platform from the stack's
settings and calls ``ghlake.orchestration.maintenance``): the closed partitions of the
Delta table compacted, files past retention vacuumed, the warehouse's ``github_events``
partitions of those dates and its aggregate tables OPTIMIZEd. Its report (files before
and after, partitions, what was vacuumed and optimized) is the task's XCom and log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task
from ghlake_http import EVENTS_ASSET, ghlake_bin


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("30 3 * * *", timezone="UTC"),
        assets=Asset(name=EVENTS_ASSET),
    ),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["ghlake", "maintenance"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    doc_md=__doc__,
)
def lake_compaction() -> None:
    @task.bash
    def maintain() -> str:
        # The last line of stdout (the JSON report) becomes the XCom.
        return f"{ghlake_bin()} lake maintain --json"

    maintain()


lake_compaction()
