"""The warehouse's ClickHouse HTTP interface against chDB in this process.

Two measurements, each with its baseline measured in the same run:

1. A 1M-row result (UInt64, String, DateTime) in Native and RowBinaryWithNamesAndTypes:
   rows/s through the interface (raw HTTP with the standard library's client, which reads
   a body in one go; and with compressed blocks as the JDBC driver asks) against the same
   query on chDB in this process.
2. A dashboard burst: 20 dashboard queries (the named queries, cycled) fired at once,
   p50 and p95 latency through the interface (clickhouse-connect, one client each, as a
   dashboard's connections) against 20 threads on chDB in this process.

The warehouse service runs as ``ghlake warehouse serve`` on free ports without its Kafka
pipeline; both engines hold the same generated events (bench/warehouse_dashboards.py).

    .venv/bin/python bench/warehouse_wire.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
from broker import free_ports  # bench/broker.py, beside this script
from warehouse_dashboards import GENERATE, generate

from ghlake.settings import DEV_ADMIN_PASSWORD, Settings
from ghlake.warehouse.clickhouse import ClickHouseQueries
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.queries import (
    ACTIVE_ACTORS,
    EVENT_TYPE_COUNTS,
    EVENTS_PER_MINUTE,
    TOP_REPOSITORIES,
    BoundQuery,
    named_query,
)

MILLION = (
    "SELECT number, toString(number) AS s, toDateTime('2026-01-01 00:00:00', 'UTC') + number AS t"
    " FROM numbers(1000000)"
)
BURST = 20


def _median_s(run: Callable[[], object], rounds: int = 5) -> float:
    run()
    times = []
    for _ in range(rounds):  # the median of a few runs: the machine is shared
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _start_service(workdir: Path) -> tuple[subprocess.Popen[bytes], Settings, dict[str, str]]:
    port, http_port = free_ports(2)
    env = {
        **os.environ, "GHLAKE_HOME": str(workdir / "service"),
        "GHLAKE_WAREHOUSE__PORT": str(port), "GHLAKE_WAREHOUSE__HTTP_PORT": str(http_port),
        "GHLAKE_WAREHOUSE__PIPELINE": "false",
    }  # fmt: skip
    log = (workdir / "service.log").open("wb")
    argv = [sys.executable, "-m", "ghlake.cli.main", "warehouse", "serve"]
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    settings = Settings(warehouse={"port": port, "http_port": http_port})
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{settings.warehouse.url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the warehouse service did not start; see {workdir}/service.log")
        time.sleep(0.5)
    return process, settings, env


def _fetcher(settings: Settings) -> Callable[[dict[str, str]], bytes]:
    """POSTs the 1M-row query as the admin on one kept-alive connection; the body read whole."""
    conn = http.client.HTTPConnection(settings.warehouse.host, settings.warehouse.http_port)
    user = f"{settings.warehouse.admin_user}:{DEV_ADMIN_PASSWORD}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(user).decode()}

    def fetch(params: dict[str, str]) -> bytes:
        conn.request("POST", "/?" + urlencode(params), body=MILLION.encode(), headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return body

    return fetch


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def _burst(run: Callable[[int], object], rounds: int = 5) -> list[float]:
    latencies: list[float] = []

    def timed(i: int) -> float:
        started = time.perf_counter()
        run(i)
        return time.perf_counter() - started

    with ThreadPoolExecutor(BURST) as pool:
        list(pool.map(timed, range(BURST)))  # warm-up
        for _ in range(rounds):
            latencies += list(pool.map(timed, range(BURST)))
    return latencies


def main() -> None:
    """Run both measurements and print rates, latencies and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="generated events")
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory(prefix="ghlake-wire-") as tmp:
        workdir = Path(tmp)
        process, settings, _ = _start_service(workdir)
        engine = ChdbEngine(workdir / "local")
        try:
            admin = httpx.Client(
                base_url=settings.warehouse.http_url, timeout=600,
                auth=(settings.warehouse.admin_user, DEV_ADMIN_PASSWORD),
            )  # fmt: skip
            for start in range(0, rows, 2_000_000):
                count = min(2_000_000, rows - start)
                sql = GENERATE.format(total=rows, start=start, count=count)
                admin.post("/", content=sql).raise_for_status()
            generate(engine, Settings(home=workdir / "local-home"), rows)
            engine.execute("USE ghlake")
            print(f"{rows:,} generated events in each engine")

            fetch = _fetcher(settings)
            print("\n1M-row result          in-process rows/s   interface rows/s   ratio")
            for fmt in ("Native", "RowBinaryWithNamesAndTypes"):
                local = _median_s(lambda fmt=fmt: engine.raw(MILLION, fmt, {}))
                for framed in (False, True):
                    params = {"default_format": fmt, **({"compress": "1"} if framed else {})}
                    wire = _median_s(lambda p=params: fetch(p))
                    label = fmt[:22] + (" +blocks" if framed else "")
                    print(f"{label:<31} {1e6 / local:>12,.0f} {1e6 / wire:>17,.0f}"
                          f" {local / wire:>8.2f}")  # fmt: skip

            until = datetime(2026, 1, 31)
            d0, d1 = date(2026, 1, 1), date(2026, 1, 31)
            calls: list[BoundQuery] = [
                EVENT_TYPE_COUNTS.bind(since=datetime(2026, 1, 24), until=until),
                EVENTS_PER_MINUTE.bind(since=datetime(2026, 1, 30), until=until),
                TOP_REPOSITORIES.bind(metric="stars", since=d0, until=d1),
                TOP_REPOSITORIES.bind(metric="pushes", since=d0, until=d1),
                ACTIVE_ACTORS.bind(since=d0, until=d1),
            ]
            sqls = [named_query(call.name) for call in calls]
            local_lat = _burst(lambda i: engine.rows(sqls[i % 5], calls[i % 5].params))
            clients = [ClickHouseQueries.from_settings(settings) for _ in range(BURST)]
            wire_lat = _burst(lambda i: clients[i].rows(calls[i % 5].name, calls[i % 5].params))
            for client in clients:
                client.close()
            (lp50, lp95), (wp50, wp95) = _percentiles(local_lat), _percentiles(wire_lat)
            print(f"\n{BURST} concurrent dashboard queries   p50 ms    p95 ms")
            print(f"in-process chDB (threads)        {lp50 * 1e3:>7.1f} {lp95 * 1e3:>9.1f}")
            print(f"interface (clickhouse-connect)   {wp50 * 1e3:>7.1f} {wp95 * 1e3:>9.1f}")
            print(f"ratio in-process/interface       {lp50 / wp50:>7.2f} {lp95 / wp95:>9.2f}"
                  "   (goal >= 0.5)")  # fmt: skip
            admin.close()
        finally:
            engine.close()
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
