"""The read ceiling of a Faust agent on the events topic: the agent only takes and counts.

Run by bench/lake.py to show what a lake writer built on a Faust agent's stream could
reach at best: the agent takes batches with ``stream.take`` (acks after each batch, as
a writer would) and does nothing else with them. Prints one JSON line with the
steady-state rate (events after the first batch over the time to the last one).

    BENCH_BOOTSTRAP=host:port BENCH_TOPIC=t BENCH_EVENTS=n python bench/faust_agent_reader.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator

import faust
from faust.worker import Worker

BOOTSTRAP = os.environ["BENCH_BOOTSTRAP"]
TOPIC = os.environ["BENCH_TOPIC"]
EVENTS = int(os.environ["BENCH_EVENTS"])
BATCH = int(os.environ.get("BENCH_BATCH", "10000"))

app = faust.App(
    f"bench-faust-agent-{time.time_ns()}",
    broker=f"kafka://{BOOTSTRAP}",
    store="memory://",
    web_enabled=False,
    topic_disable_leader=True,
    # The settings that help this path most: big fetches, a deep stream buffer, and
    # faust's opt-in Cython fast paths.
    broker_max_poll_records=BATCH,
    consumer_max_fetch_size=8 * 1024 * 1024,
    stream_buffer_maxsize=4 * BATCH,
    cython_optimizations=True,
)
topic = app.topic(TOPIC, value_serializer="raw", key_serializer="raw")


@app.agent(topic)
async def count(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    first: tuple[float, int] | None = None
    seen = 0
    async for batch in stream.take(BATCH, within=1):
        seen += len(batch)
        now = time.monotonic()
        if first is None:
            first = (now, seen)
        elif seen >= EVENTS:
            rate = (seen - first[1]) / (now - first[0])
            print(json.dumps({"events": seen, "events_per_second": rate}), flush=True)
            sys.stdout.flush()
            os._exit(0)  # a measurement, not a service: no graceful leave needed
        yield None


if __name__ == "__main__":
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
