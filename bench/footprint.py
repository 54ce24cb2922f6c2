"""Bytes per event in each store: the Kafka topic, the lake's Delta table, the warehouse.

On one private stack (temporary GHLAKE_HOME, free ports: Kafka, MinIO, the warehouse service,
one lake writer), two sets of hours go through the whole pipeline, one after the other:

- ``2015``: every whole real GH Archive hour of 2015 in ../shared/data/gharchive (the
  Events API's full payloads, as in most of the archive's history);
- ``2026``: generated hours of 2026-08 (the trimmed payloads GitHub publishes since
  2025-10: the live feed from now on).

After each set is reconciled (the lake and the warehouse hold every event), the growth of
each store over the set, divided by its events:

- Kafka: the topic's log segments (``*.log`` of its partition folders; one replica, zstd
  batches as the producer sends them; indexes are preallocated and left out);
- lake: the Delta table's data files in its current snapshot, after ``compact`` of the
  set's (closed) partitions as the daily maintenance does, so small batch files do not
  count;
- warehouse: ``github_events``' active parts (``system.parts``: compressed bytes on disk)
  after ``OPTIMIZE ... FINAL`` of the set's months, as maintenance does; the aggregate
  tables separately.

Also the source: gzip bytes and JSON bytes per event of the hour files.

    .venv/bin/python bench/footprint.py [--events-2026 200000]
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from broker import free_ports  # bench/broker.py, beside this script

from ghlake.hours import Hour
from ghlake.lake import maintenance
from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.synth import SynthConfig, write_hour
from ghlake.warehouse.clickhouse import ClickHouseQueries

GHARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gharchive"


@dataclass(frozen=True)
class Sizes:
    """Bytes held by each store at one moment."""

    kafka: int
    lake: int
    warehouse: int
    aggregates: int


def _kafka_bytes(settings: Settings) -> int:
    folders = settings.state_dir.rglob(f"{settings.kafka.topic}-*")
    return sum(f.stat().st_size for d in folders if d.is_dir() for f in d.glob("*.log"))


def _lake_bytes(platform: Platform, dates: set[str]) -> int:
    return sum(f.size for f in platform.lake_table.files() if f.event_date in dates)


def _warehouse_bytes(admin: ClickHouseQueries, database: str, months: set[str]) -> tuple[int, int]:
    """(github_events in ``months``, every other table) compressed bytes of active parts."""
    rows = admin.select(
        "SELECT table = 'github_events' AS main, sum(data_compressed_bytes) AS bytes "
        "FROM system.parts WHERE active AND database = {db:String} "
        "AND (table != 'github_events' OR partition IN {months:Array(String)}) GROUP BY main",
        {"db": database, "months": sorted(months)},
    )
    found = {bool(r["main"]): int(r["bytes"]) for r in rows}
    return found.get(True, 0), found.get(False, 0)


def measure(platform: Platform, hours: list[str], folder: Path) -> tuple[int, Sizes]:
    """Replay ``hours`` from ``folder``; the events published and what each store grew."""
    settings = platform.settings
    admin = ClickHouseQueries.as_admin(settings)
    dates = {Hour.parse(h).start.date().isoformat() for h in hours}
    months = {d[:4] + d[5:7] for d in dates}
    before = Sizes(_kafka_bytes(settings), _lake_bytes(platform, dates),
                   *_warehouse_bytes(admin, settings.warehouse.database, months))  # fmt: skip
    with platform.replayer(str(folder)) as replayer:
        reports = replayer.run([Hour.parse(h) for h in hours])
    published = {r.hour.name: r.published for r in reports}
    platform.reconciler.wait(published, timeout=900)
    first, last = min(dates), max(dates)
    maintenance.compact(
        platform.lake_table, settings.lake.compact_target_mb,
        date.fromisoformat(first), date.fromisoformat(last),
    )  # fmt: skip
    for month in sorted(months):
        admin.statement(
            f"OPTIMIZE TABLE {settings.warehouse.database}.github_events PARTITION {month} FINAL"
        )
    after = Sizes(_kafka_bytes(settings), _lake_bytes(platform, dates),
                  *_warehouse_bytes(admin, settings.warehouse.database, months))  # fmt: skip
    admin.close()
    grown = Sizes(
        after.kafka - before.kafka,
        after.lake - before.lake,
        after.warehouse - before.warehouse,
        after.aggregates - before.aggregates,
    )
    return sum(published.values()), grown


def _source_bytes(folder: Path, hours: list[str]) -> tuple[int, int]:
    gz = json = 0
    for name in hours:
        path = folder / f"{name}.json.gz"
        gz += path.stat().st_size
        with gzip.open(path, "rb") as handle:
            json += sum(len(line) for line in handle)
    return gz, json


def main() -> None:
    """Run both sets and print bytes per event of each store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-2026", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ghlake-footprint-") as tmp:
        workdir = Path(tmp)
        kafka, controller, minio, console, warehouse, http, lake = free_ports(7)
        os.environ.update({
            "GHLAKE_HOME": str(workdir / "home"), "GHLAKE_KAFKA__PORT": str(kafka),
            "GHLAKE_KAFKA__CONTROLLER_PORT": str(controller), "GHLAKE_MINIO__PORT": str(minio),
            "GHLAKE_MINIO__CONSOLE_PORT": str(console), "GHLAKE_WAREHOUSE__PORT": str(warehouse),
            "GHLAKE_WAREHOUSE__HTTP_PORT": str(http), "GHLAKE_LAKE__WEB_PORT": str(lake),
        })  # fmt: skip
        real = [p.name.removesuffix(".json.gz") for p in sorted(GHARCHIVE.glob("2015-*.json.gz"))]
        generated = workdir / "2026"
        per_hour = 50_000
        names: list[str] = []
        hour = Hour.parse("2026-08-03-0")
        while len(names) * per_hour < args.events_2026:
            write_hour(hour, generated, SynthConfig(events_per_hour=per_hour, seed=7))
            names.append(hour.name)
            hour = hour.next()
        sets = {"2015": (GHARCHIVE, real), "2026": (generated, names)}
        platform = Platform(Settings())
        started = []
        try:
            for name in ("kafka", "minio", "warehouse", "lake-writer"):
                platform.stack.start(name)
                started.append(platform.stack.service(name))
            print(f"{'set':<6}{'events':>9}{'gzip':>8}{'JSON':>8}{'Kafka':>8}{'lake':>8}"
                  f"{'warehouse':>11}{'aggregates':>12}   (bytes per event)")  # fmt: skip
            for label, (folder, hours) in sets.items():
                events, grown = measure(platform, hours, folder)
                gz, json = _source_bytes(folder, hours)
                per = [v / events for v in (gz, json, grown.kafka, grown.lake)]
                print(
                    f"{label:<6}{events:>9,}" + "".join(f"{v:>8.0f}" for v in per)
                    + f"{grown.warehouse / events:>11.0f}{grown.aggregates / events:>12.0f}"
                )  # fmt: skip
        finally:
            for service in reversed(started):
                platform.stack.supervisor.stop(service.spec())
            platform.close()


if __name__ == "__main__":
    main()
