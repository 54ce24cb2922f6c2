"""The warehouse in one run: Kafka-engine ingest, freshness, and dashboard query latency.

1. Ingest rate. Generated 2026 hours (trimmed payloads) are published while the
   warehouse service is stopped (the producer's rate), then the service starts and
   the Kafka engine drains the backlog into github_events and the aggregates (its
   rate, from healthy to every event written). Printed as a ratio.
2. Freshness. A paced producer sends generated events at a steady rate (1,000/s,
   then 10,000/s) for a while; a poller reads the highest written offset per partition
   every 50 ms (/v1/ingest/progress). An event is visible when its partition's written
   offset reaches its own; freshness is visible time minus send time. p50/p95/p99,
   at the service's kafka_flush_interval_ms (settings.warehouse.flush_interval_ms,
   GHLAKE_WAREHOUSE__FLUSH_INTERVAL_MS). Targets: p95 <= 0.5 s at 1,000/s, <= 1 s at 10,000/s.
3. Dashboards on generated rows (see bench/warehouse_dashboards.py): each named query
   in chDB against DuckDB over the same rows in Parquet.

Kafka and the warehouse service run from a private state directory on free ports.

    .venv/bin/python bench/warehouse.py [--events 200000] [--rates 1000,10000]
                                        [--seconds 30] [--rows 10000000] [--skip-dashboards]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from broker import free_ports  # bench/broker.py, beside this script
from confluent_kafka import KafkaError, Message, Producer
from warehouse_dashboards import run_dashboards

from ghlake.events.provenance import Provenance
from ghlake.hours import Hour
from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.synth import SynthConfig, write_hour


def _lines(folder: Path, first: str, events: int, per_hour: int = 50_000) -> dict[str, list[bytes]]:
    """Generated hours from ``first`` holding at least ``events`` events; hour -> lines."""
    hours = [Hour.parse(first)]
    while len(hours) * per_hour < events:
        hours.append(hours[-1].next())
    out = {}
    for hour in hours:
        write_hour(hour, folder, SynthConfig(events_per_hour=per_hour, seed=5))
        with gzip.open(folder / f"{hour.name}.json.gz", "rb") as handle:
            out[hour.name] = [line.rstrip(b"\n") for line in handle]
    return out


def _rows_written(platform: Platform) -> int:
    return int(platform.warehouse.http.get(f"{platform.settings.warehouse.url}/healthz").json()[
        "tables"]["github_events"])  # fmt: skip


def ingest(platform: Platform, workdir: Path, events: int) -> tuple[float, float]:
    """(producer events/s, Kafka-engine events/s) over a backlog of ``events``."""
    hours = _lines(workdir / "ingest", "2026-02-01-0", events)
    warehouse = platform.stack.service("warehouse")
    before = _rows_written(platform)
    platform.stack.supervisor.stop(warehouse.spec())
    publisher = platform.publisher()
    total, seconds = 0, 0.0
    for name, lines in hours.items():
        result = publisher.publish_lines(lines, Provenance("gharchive", name, ""))
        total += result.published
        seconds += result.seconds
    started = time.perf_counter()
    platform.stack.supervisor.start(warehouse.spec())
    while _rows_written(platform) < before + total:
        time.sleep(0.05)
    return total / seconds, total / (time.perf_counter() - started)


def freshness(platform: Platform, workdir: Path, rate: int, seconds: int) -> list[float]:
    """Produce-to-visible latencies (s) of events sent at ``rate`` per second."""
    hours = _lines(workdir / f"fresh-{rate}", "2026-02-10-0", rate * seconds)
    lines = [line for hour in hours.values() for line in hour]
    sent: dict[tuple[int, int], float] = {}
    seen: dict[int, list[tuple[float, int]]] = {}
    stop = threading.Event()
    url = f"{platform.settings.warehouse.url}/v1/ingest/progress"

    def poll() -> None:
        while not stop.is_set():
            try:
                rows = platform.warehouse.http.get(url).json()["rows"]
            except httpx.TransportError as exc:
                print(f"poll failed: {exc}; warehouse status {platform.stack.status()}")
                raise
            now = time.monotonic()
            for row in rows:
                seen.setdefault(int(row["kafka_partition"]), []).append(
                    (now, int(row["max_offset"]))
                )
            time.sleep(0.05)

    def on_delivery(at: float) -> Callable[[KafkaError | None, Message], None]:
        def record(error: KafkaError | None, message: Message) -> None:
            if error is None:
                sent[(message.partition(), message.offset())] = at

        return record

    producer = Producer(
        {"bootstrap.servers": platform.settings.kafka.bootstrap, "enable.idempotence": True,
         "acks": "all", "linger.ms": 5, "compression.type": "zstd"}
    )  # fmt: skip
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    for index, line in enumerate(lines[: rate * seconds]):
        due = started + index / rate
        while (delay := due - time.monotonic()) > 0:
            producer.poll(min(delay, 0.01))
        producer.produce(
            platform.settings.kafka.topic, value=line, key=str(index % 97).encode(),
            headers=[("source", b"bench"), ("hour", b"bench-freshness"),
                     ("line", str(index).encode())],
            on_delivery=on_delivery(time.monotonic()),
        )  # fmt: skip
    producer.flush(60)
    time.sleep(5)
    stop.set()
    poller.join()
    latencies = []
    for (partition, offset), at in sent.items():
        visible = next((t for t, top in seen.get(partition, []) if top >= offset), None)
        if visible is not None:
            latencies.append(visible - at)
    return latencies


def main() -> None:
    """Run the three parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rates", default="1000,10000", help="events/s, comma-separated")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-dashboards", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ghlake-bench-") as tmp:
        workdir = Path(os.environ.get("GHLAKE_BENCH_DIR") or tmp)
        kafka, controller, warehouse = free_ports(3)
        os.environ.update({
            "GHLAKE_HOME": str(workdir / "home"), "GHLAKE_KAFKA__PORT": str(kafka),
            "GHLAKE_KAFKA__CONTROLLER_PORT": str(controller), "GHLAKE_KAFKA__PARTITIONS": "3",
            "GHLAKE_WAREHOUSE__PORT": str(warehouse),
        })  # fmt: skip
        platform = Platform(Settings())
        flush = platform.settings.warehouse.flush_interval_ms
        started = []
        try:
            for name in ("kafka", "warehouse"):
                platform.stack.start(name)
                started.append(platform.stack.service(name))
            produced, consumed = ingest(platform, workdir, args.events)
            print(f"ingest: producer {produced:,.0f} events/s, Kafka engine "
                  f"{consumed:,.0f} events/s (ratio {consumed / produced:.2f}) "
                  f"over {args.events:,} events")  # fmt: skip
            for rate in (int(r) for r in args.rates.split(",")):
                lat = sorted(freshness(platform, workdir, rate, args.seconds))
                q = statistics.quantiles(lat, n=100)
                target = 0.5 if rate <= 1000 else 1.0
                print(f"freshness at {rate:,} events/s for {args.seconds}s, flush {flush} ms: "
                      f"p50 {q[49]:.2f}s p95 {q[94]:.2f}s p99 {q[98]:.2f}s max {lat[-1]:.2f}s "
                      f"({len(lat):,} of {rate * args.seconds:,} events seen;"
                      f" target p95 <= {target} s)")  # fmt: skip
        finally:
            for service in reversed(started):
                platform.stack.supervisor.stop(service.spec())
            platform.close()
        if not args.skip_dashboards:
            print(f"dashboards on {args.rows:,} generated rows (median ms):")
            print(f"{'query':<34}{'chDB':>10}{'DuckDB':>10}{'DuckDB/chDB':>13}")
            for r in run_dashboards(workdir / "dash", args.rows):
                ratio = r["duckdb_ms"] / r["chdb_ms"]
                print(f"{r['query']:<34}{r['chdb_ms']:>10.1f}{r['duckdb_ms']:>10.1f}{ratio:>13.2f}")


if __name__ == "__main__":
    main()
