"""The DAG files parse in Airflow's own venv, with the tasks, schedules and params they promise.

Parsing needs no running Airflow: a DagBag of ``airflow/dags`` in a subprocess of the
venv ``ghlake install`` creates (``topic_replay`` is only tested so; the route it calls
belongs to the topic-replay capability).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ghlake.services.airflow import ensure_airflow_venv
from ghlake.settings import Settings

DAGS = Path(__file__).resolve().parents[2] / "airflow" / "dags"

PARSE = """
import json, sys
sys.path.insert(0, {folder!r})  # as Airflow's components put the DAGs folder on sys.path
from airflow.dag_processing.dagbag import DagBag
bag = DagBag({folder!r})
print(json.dumps({{
    "errors": {{k: v[-400:] for k, v in bag.import_errors.items()}},
    "dags": {{
        dag_id: {{
            "tasks": sorted(dag.task_ids),
            "params": sorted(dag.params.keys()),
            "timetable": type(dag.timetable).__name__,
            "retries": [dag.get_task(t).retries for t in sorted(dag.task_ids)],
            "reschedule": sorted(t for t in dag.task_ids
                                 if getattr(dag.get_task(t), "mode", "") == "reschedule"),
        }}
        for dag_id, dag in bag.dags.items()
    }},
}}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    venv = ensure_airflow_venv(Settings())
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}  # fmt: skip
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PARSE.format(folder=str(DAGS))],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    parsed: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_every_dag_file_parses(parsed: dict[str, dict[str, object]]) -> None:
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == {"gharchive_hourly", "lake_compaction", "topic_replay"}


def test_the_hourly_dag_waits_without_holding_a_slot_and_retries(
    parsed: dict[str, dict[str, dict[str, object]]],
) -> None:
    hourly = parsed["dags"]["gharchive_hourly"]
    assert hourly["tasks"] == ["replay", "wait_reconciled", "wait_replayed"]
    assert hourly["reschedule"] == ["wait_reconciled", "wait_replayed"]
    assert all(r == 3 for r in hourly["retries"])  # type: ignore[attr-defined]
    assert hourly["params"] == ["force", "source"]


def test_topic_replay_takes_the_store_and_the_time_range(
    parsed: dict[str, dict[str, dict[str, object]]],
) -> None:
    replay = parsed["dags"]["topic_replay"]
    assert replay["tasks"] == ["start", "wait_done"]
    assert replay["params"] == ["from_time", "store", "to_time"]
    assert replay["reschedule"] == ["wait_done"]
    assert parsed["dags"]["lake_compaction"]["timetable"] == "AssetOrTimeSchedule"
