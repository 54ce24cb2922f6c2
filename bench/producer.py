"""Producer throughput against kafka-producer-perf-test, as ratios measured in one run.

Both publish the same real GH Archive lines (the same record sizes) with the
same producer settings (idempotent, acks=all, zstd, linger 50 ms, 1 MB
batches) to the same single-node broker, started here in a private state
directory. kafka-producer-perf-test (Java, from the broker's own jars) sends
pre-built records and is the limit; ghlake's producer also parses every line
for its key and builds provenance headers. Target: ratio >= 0.5.

    .venv/bin/python bench/producer.py [--rounds 3] [--events 150000]
"""

from __future__ import annotations

import argparse
import gzip
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from broker import private_broker  # bench/broker.py, beside this script

from ghlake.events.provenance import Provenance
from ghlake.kafka.producer import EventPublisher
from ghlake.kafka.topics import TopicSpec, ensure_topics
from ghlake.services.kafka_broker import java_argv
from ghlake.settings import Settings
from ghlake.sources.lines import LineOutcome

ROOT = Path(__file__).resolve().parents[1]
REAL_HOUR = (ROOT / ".." / "shared" / "data" / "gharchive" / "2015-01-01-1.json.gz").resolve()
PRODUCER_PROPS = {
    "acks": "all", "enable.idempotence": "true", "compression.type": "zstd",
    "linger.ms": "50", "batch.size": "1000000", "max.request.size": "10485760",
}  # fmt: skip


def _lines(events: int) -> list[bytes]:
    if not REAL_HOUR.is_file():
        sys.exit(f"the real hour {REAL_HOUR} is needed (../shared/data/gharchive)")
    with gzip.open(REAL_HOUR, "rb") as handle:
        real = [line.rstrip(b"\n") for line in handle]
    return (real * (events // len(real) + 1))[:events]


def _ours(settings: Settings, topic: str, lines: list[bytes]) -> float:
    publisher = EventPublisher(settings.kafka.model_copy(update={"topic": topic}))
    provenance = Provenance("gharchive", "2015-01-01-1", "2015-01-01T01:00:00Z")
    # The real hour repeated: as classified lines, so its copies are not dead-lettered as
    # duplicates. This measures the producer; bench/replay.py measures the whole path.
    outcomes = [LineOutcome(n, "valid", line, b"%d" % (n % 5000)) for n, line in enumerate(lines)]
    started = time.perf_counter()
    result = publisher.publish(outcomes, provenance)
    elapsed = time.perf_counter() - started
    assert result.published == len(lines), result
    return len(lines) / elapsed


def _perf_test(settings: Settings, topic: str, payload: Path, count: int) -> float:
    props = [
        f"{k}={v}"
        for k, v in {"bootstrap.servers": settings.kafka.bootstrap, **PRODUCER_PROPS}.items()
    ]
    argv = java_argv(
        settings, "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic, "--num-records", str(count), "--throughput", "-1",
        "--payload-file", str(payload), "--producer-props", *props, heap="1g",
    )  # fmt: skip
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+) records sent, ([\d.]+) records/sec", output.splitlines()[-1])
    if match is None:
        raise RuntimeError(f"unexpected perf-test output:\n{output[-1000:]}")
    return float(match.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()

    with private_broker() as settings:
        home = settings.state_dir
        kafka = settings.kafka
        lines = _lines(args.events)
        payload = home / "payload.txt"
        payload.write_bytes(b"\n".join(sorted(set(lines))) + b"\n")
        mean_size = sum(map(len, lines)) / len(lines)
        ratios, ours_rates, perf_rates = [], [], []
        for round_ in range(args.rounds):
            # Alternate the order so neither side always runs on a warmer broker.
            pair = [f"bench.ours.{round_}", f"bench.perf.{round_}"]
            ensure_topics(kafka.bootstrap, [TopicSpec(name, kafka.partitions) for name in pair])
            if round_ % 2 == 0:
                ours = _ours(settings, pair[0], lines)
                perf = _perf_test(settings, pair[1], payload, len(lines))
            else:
                perf = _perf_test(settings, pair[1], payload, len(lines))
                ours = _ours(settings, pair[0], lines)
            ours_rates.append(ours)
            perf_rates.append(perf)
            ratios.append(ours / perf)
            print(f"round {round_ + 1}: ghlake {ours:,.0f} ev/s, perf-test {perf:,.0f} ev/s,"
                  f" ratio {ours / perf:.2f}")  # fmt: skip
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nrecords: {len(lines):,} real GH Archive lines, mean {mean_size:,.0f} bytes,"
              " zstd, acks=all, idempotent")  # fmt: skip
        print(f"ghlake producer     median {statistics.median(ours_rates):>10,.0f} events/s")
        print(f"kafka-producer-perf median {statistics.median(perf_rates):>10,.0f} events/s")
        print(f"ratio ghlake / kafka-producer-perf-test: median {statistics.median(ratios):.2f}"
              " (target >= 0.5)")  # fmt: skip
        print(f"bench process peak RSS: {peak_mb:,.0f} MiB"
              f" (includes the {len(lines):,} lines held in memory)")  # fmt: skip


if __name__ == "__main__":
    main()
