"""What watching costs: the lag monitor's CPU, and the live page's fan-out, in one run.

1. **Lag monitor CPU** at one sample a second on a private broker with 6 partitions and 3
   consumer groups (one caught up, one behind and still, one advancing every half second,
   so record timestamps are read, not cached). Measured as this process's CPU time over
   the sampling period minus a baseline period of the same length with the same advancing
   group and no monitor; printed as percent of one core.
2. **SSE fan-out**: a server process running the API's live feed and stream route (a
   snapshot a second, of the live page's usual size) with 1 client connected, then 100;
   the server's CPU (from /proc) per period, and the ratio 100 clients / 1 client. One
   loop feeds all clients, so the ratio is the cost of writing to more sockets, not of
   more query loops.

    .venv/bin/python bench/lag.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
from broker import free_port, private_broker

from ghlake.lag.broker import BrokerOffsets
from ghlake.lag.evaluator import Window
from ghlake.lag.monitor import LagMonitor
from ghlake.settings import Settings

PARTITIONS = 6
MESSAGES = 60_000


def _fill(settings: Settings) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "linger.ms": 20})
    for number in range(MESSAGES):
        producer.produce(settings.kafka.topic, b'{"type": "PushEvent"}', partition=number % 6)
        if number % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)


def _commit(settings: Settings, group: str, offset: int) -> Consumer:
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka.bootstrap, "group.id": group,
         "enable.auto.commit": False}
    )  # fmt: skip
    tps = [TopicPartition(settings.kafka.topic, p, offset) for p in range(PARTITIONS)]
    deadline = time.monotonic() + 60
    while True:  # a new broker's group coordinator takes a moment to load
        try:
            consumer.commit(offsets=tps, asynchronous=False)
            return consumer
        except KafkaException:
            if time.monotonic() > deadline:
                consumer.close()
                raise
            time.sleep(0.5)


def _advancing(settings: Settings, stop: threading.Event) -> None:
    consumer = _commit(settings, "bench-advancing", 0)
    offset = 0
    while not stop.wait(0.5):
        offset = (offset + 50) % (MESSAGES // PARTITIONS)
        tps = [TopicPartition(settings.kafka.topic, p, offset) for p in range(PARTITIONS)]
        consumer.commit(offsets=tps, asynchronous=False)
    consumer.close()


def _cpu_during(seconds: float) -> float:
    started, cpu = time.monotonic(), time.process_time()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (time.monotonic() - started)


def monitor_cpu(seconds: float) -> tuple[float, float, int]:
    """(baseline, with the monitor) in cores, and the samples taken."""
    with private_broker(PARTITIONS) as settings:
        _fill(settings)
        _commit(settings, "bench-caught-up", MESSAGES // PARTITIONS).close()
        _commit(settings, "bench-behind", 100).close()
        stop = threading.Event()
        committer = threading.Thread(target=_advancing, args=(settings, stop))
        committer.start()
        try:
            time.sleep(2)
            baseline = _cpu_during(seconds)
            monitor = LagMonitor(BrokerOffsets(settings.kafka.bootstrap), Window(10, 60))
            monitor.sample()  # connect outside the measured period
            monitor.start(1.0)
            try:
                measured = _cpu_during(seconds)
            finally:
                monitor.close()
            groups = {g.group for g in monitor.report.groups}
            assert groups == {"bench-caught-up", "bench-behind", "bench-advancing"}, groups
            return baseline, measured, int(seconds)
        finally:
            stop.set()
            committer.join()


# The SSE fan-out


def serve_feed(port: int) -> None:
    """The server side: the API's live feed and stream route, fed a fixed-size snapshot."""
    import uvicorn  # noqa: PLC0415
    from fastapi import FastAPI  # noqa: PLC0415

    from ghlake.api.live import LiveFeed  # noqa: PLC0415
    from ghlake.api.routes import live  # noqa: PLC0415

    types = ["PushEvent", "WatchEvent", "CreateEvent", "IssueCommentEvent", "PullRequestEvent"]

    def collect() -> dict[str, object]:
        return {
            "at": time.time(), "total": 123_456, "errors": {}, "ingest_errors": 0,
            "dead_letters": 0, "rates": dict.fromkeys(types, 12.5),
            "latest": [{"event_type": "PushEvent", "repo_name": "owner/repository",
                        "actor_login": "someone", "created_at": "2015-01-01 01:00:00"}] * 8,
            "groups": [{"group": f"group-{i}", "topic": "gharchive.events", "status": "OK",
                        "lag": 0, "lag_seconds": 0.0, "active": True} for i in range(3)],
            "hours": [],
        }  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.live_feed = feed = LiveFeed(collect)
        task = asyncio.get_running_loop().create_task(feed.run())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)
    app.include_router(live.router)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client(url: str, stop: threading.Event, events: list[int]) -> None:
    with httpx.Client(timeout=None) as client, client.stream("GET", url) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(1)
            if stop.is_set():
                return


def fanout_cpu(seconds: float, clients: int) -> tuple[float, int]:
    """Server CPU in cores with ``clients`` connected, and the events they received."""
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve-feed", str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the feed server did not start"
                time.sleep(0.2)
        time.sleep(2)  # a backlog of snapshots, as a page would find
        stop, received = threading.Event(), [0]
        events: list[int] = []
        url = f"http://127.0.0.1:{port}/v1/live/stream"
        threads = [
            threading.Thread(target=_client, args=(url, stop, events), daemon=True)
            for _ in range(clients)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2)  # every client connected and past its history
        before, started, received[0] = _server_cpu(server.pid), time.monotonic(), len(events)
        time.sleep(seconds)
        used = (_server_cpu(server.pid) - before) / (time.monotonic() - started)
        delivered = len(events) - received[0]
        stop.set()
        return used, delivered
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--serve-feed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_feed:
        serve_feed(args.serve_feed)
        return
    baseline, measured, samples = monitor_cpu(args.seconds)
    one, one_events = fanout_cpu(args.seconds, 1)
    hundred, hundred_events = fanout_cpu(args.seconds, 100)
    print(f"lag monitor, 1 sample/s, {PARTITIONS} partitions, 3 groups, {samples} s:")
    print(f"  baseline {baseline * 100:.1f}% of a core, with the monitor {measured * 100:.1f}%:"
          f" the monitor costs {(measured - baseline) * 100:.1f}% of a core")  # fmt: skip
    print(f"SSE fan-out, one snapshot a second, {args.seconds:.0f} s per run:")
    for name, cpu, events in (
        ("1 client", one, one_events),
        ("100 clients", hundred, hundred_events),
    ):
        print(f"  {name:12} server {cpu * 100:.1f}% of a core, {events} events delivered")
    print(f"  ratio 100 clients / 1 client: {hundred / max(one, 1e-9):.1f}x CPU for"
          f" {hundred_events / max(one_events, 1):.0f}x events delivered")  # fmt: skip


if __name__ == "__main__":
    main()
