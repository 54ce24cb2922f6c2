"""Airflow's orchestration overhead: hours backfilled per minute, through Airflow and directly.

On one private stack (free ports, a temporary GHLAKE_HOME) with Airflow up, two sets
of generated hours of the same size go in:

- directly: ``ghlake replay``'s path (``Platform.replayer``), then the reconciler's wait
  until the lake and the warehouse hold every hour (the baseline);
- through Airflow: ``ghlake backfill``'s path (an Airflow backfill of ``gharchive_hourly``
  over ``/api/v2/backfills``, each run replaying through the API, waiting in reschedule
  mode, reconciling), until the backfill is complete.

Both end when every hour is reconciled; the ratio is Airflow's hours per minute over the
baseline's (1.0 = no overhead). Both sets are served by the same local folder.

    .venv/bin/python bench/airflow_backfill.py [--hours 4] [--events-per-hour 5000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from broker import free_port  # bench/broker.py, beside this script

from ghlake.hours import Hour, hour_range
from ghlake.orchestration.airflow_api import follow
from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.synth import SynthConfig, write_hour

PORTS = ("KAFKA__PORT", "KAFKA__CONTROLLER_PORT", "MINIO__PORT", "MINIO__CONSOLE_PORT",
         "WAREHOUSE__PORT", "WAREHOUSE__HTTP_PORT", "LAKE__WEB_PORT", "API__PORT",
         "AIRFLOW__PORT", "AIRFLOW__DB_PORT", "AIRFLOW__LOG_SERVER_PORT",
         "AIRFLOW__TRIGGER_LOG_SERVER_PORT")  # fmt: skip


def _private_stack(home: Path) -> None:
    home.chmod(0o755)  # as root, PostgreSQL runs as user postgres and must reach its folder
    os.environ.update({f"GHLAKE_{name}": str(free_port()) for name in PORTS})
    os.environ.update({"GHLAKE_HOME": str(home / "state"), "GHLAKE_KAFKA__PARTITIONS": "3",
                       "GHLAKE_LAKE__BATCH_MAX_SECONDS": "2",
                       "GHLAKE_AIRFLOW__DB_DIR": str(home / "airflow-db"),
                       "GHLAKE_AIRFLOW__DAG_REFRESH_SECONDS": "5"})  # fmt: skip


def _direct(platform: Platform, source: Path, hours: list[Hour]) -> float:
    started = time.perf_counter()
    with platform.replayer(str(source)) as replayer:
        reports = replayer.run(hours)
    assert all(r.status == "published" for r in reports), reports
    counts = platform.reconciler.wait({r.hour: r.published for r in reports}, timeout=600)
    assert all(c.reconciled for c in counts), counts
    return time.perf_counter() - started


def _airflow(platform: Platform, source: Path, hours: list[Hour]) -> float:
    client = platform.airflow()
    try:
        started = time.perf_counter()
        backfill = client.create_backfill(hours[0], hours[-1], conf={"source": str(source)})
        progress = follow(client, backfill, poll_seconds=1, timeout=1200)
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    assert progress.done, progress
    assert progress.states == {"success": len(hours)}, progress
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=4)
    parser.add_argument("--events-per-hour", type=int, default=5000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ghlake-bench-airflow-"))
    _private_stack(home)
    platform = Platform(Settings())
    direct_first = Hour.parse("2026-11-02-0")
    airflow_first = Hour.parse("2026-11-03-0")
    config = SynthConfig(events_per_hour=args.events_per_hour, seed=7)
    sets = {}
    for name, first in (("direct", direct_first), ("airflow", airflow_first)):
        last = Hour(first.start.replace(hour=args.hours - 1))
        sets[name] = list(hour_range(first, last))
        for hour in sets[name]:
            write_hour(hour, home / "hours", config)
    try:
        platform.stack.up(with_groups=("airflow",))
        client = platform.airflow()
        deadline = time.monotonic() + 180
        while "gharchive_hourly" not in client.dag_ids():
            assert time.monotonic() < deadline, "the DAGs were not parsed in 3 minutes"
            time.sleep(1)
        client.close()
        direct = _direct(platform, home / "hours", sets["direct"])
        through_airflow = _airflow(platform, home / "hours", sets["airflow"])
    finally:
        platform.stack.down()
        platform.close()
        shutil.rmtree(home, ignore_errors=True)

    per_minute = {name: args.hours / seconds * 60 for name, seconds in
                  (("direct (ghlake replay + reconcile)", direct),
                   ("through Airflow (ghlake backfill)", through_airflow))}  # fmt: skip
    print(f"{args.hours} hours of {args.events_per_hour:,} events each")
    for name, rate in per_minute.items():
        print(f"  {name:38} {rate:8.2f} hours/min")
    ratio = through_airflow and direct / through_airflow
    print(f"  ratio Airflow / direct: {ratio:.2f} (1.0 = no orchestration overhead)")


if __name__ == "__main__":
    main()
