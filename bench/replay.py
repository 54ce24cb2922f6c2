"""The whole replay path on real GH Archive hours, against simple peers, in one run.

Three ways to move the same real hour (../shared/data/gharchive/2015-01-01-1.json.gz,
7,427 events, 17.6 MB of JSON) from the gzip file into Kafka, on the same broker
with the same producer settings (idempotent, acks=all, zstd, linger 50 ms):

- ghlake: ``Replayer`` (gunzip, line checks, dedup, key, provenance headers, ledger);
- ``zcat <hour> | kcat -P`` : a simple peer that only splits lines (target ratio >= 1.0);
- ``kafka-producer-perf-test`` with the hour's lines as payloads: the limit (target >= 0.5).

Then the range of every real hour there (2011 to 2015, small hours of every era),
one ``Replayer.run`` against one ``zcat <hours> | kcat -P``: a range pays its
fixed costs once (one producer, no pause at an hour's end), so small hours
should go at least as fast as one.

Also the peak memory of ``ghlake replay`` (a separate process) on a generated modern
hour of 150,000 events.

    .venv/bin/python bench/replay.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from broker import private_broker  # bench/broker.py, beside this script

from ghlake.hours import Hour
from ghlake.ingest.replay import Replayer
from ghlake.kafka.producer import EventPublisher
from ghlake.kafka.topics import TopicSpec, ensure_topics
from ghlake.ledger import Ledger
from ghlake.services.kafka_broker import java_argv
from ghlake.settings import Settings
from ghlake.sources.archive import HourFetcher, LocalArchive
from ghlake.synth import SynthConfig, write_hour

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "gharchive").resolve()
HOUR = Hour.parse("2015-01-01-1")
PROPS = {"acks": "all", "enable.idempotence": "true", "compression.type": "zstd",
         "linger.ms": "50", "batch.size": "1000000"}  # fmt: skip


Run = tuple[float, float]  # lines a second, CPU seconds (every thread or child process)


def _ghlake(settings: Settings, topic: str, ledger: Ledger, hours: list[Hour]) -> Run:
    """One ``Replayer.run`` over ``hours`` (the producer started inside)."""
    kafka = settings.kafka.model_copy(update={"topic": topic})
    fetcher = HourFetcher([LocalArchive(DATA)], settings.state_dir / "spool")
    started, cpu = time.perf_counter(), time.process_time()
    replayer = Replayer(EventPublisher(kafka), ledger, fetcher, kafka)
    reports = replayer.run(hours, force=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert all(r.status == "published" for r in reports), reports
    return sum(r.lines for r in reports) / elapsed, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kcat(settings: Settings, topic: str, hours: list[Hour], lines: int) -> Run:
    """``zcat <hours> | kcat -P``."""
    props = [arg for k, v in PROPS.items() if k != "compression.type" for arg in ("-X", f"{k}={v}")]
    files = " ".join(str(DATA / hour.filename) for hour in hours)
    command = (
        f"zcat {files} | kcat -P -b {settings.kafka.bootstrap} -t {topic} -z zstd {' '.join(props)}"
    )
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)
    return lines / (time.perf_counter() - started), _children_cpu() - cpu


def _real_hours() -> list[Hour]:
    """Every real GH Archive hour in the shared data, in time order."""
    names = (path.name.removesuffix(".json.gz") for path in DATA.glob("*.json.gz"))
    return sorted(Hour.parse(name) for name in names if name.count("-") == 3)


def _line_count(hours: list[Hour]) -> int:
    total = 0
    for hour in hours:
        with gzip.open(DATA / hour.filename, "rb") as handle:
            total += sum(1 for _ in handle)
    return total


def _perf(settings: Settings, topic: str, payload: Path, events: int) -> float:
    props = [
        f"{k}={v}" for k, v in {"bootstrap.servers": settings.kafka.bootstrap, **PROPS}.items()
    ]
    argv = java_argv(settings, "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                     "--num-records", str(events), "--throughput", "-1", "--payload-file",
                     str(payload), "--producer-props", *props, heap="1g")  # fmt: skip
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    match = re.search(r"records sent, ([\d.]+) records/sec", output.splitlines()[-1])
    assert match, output[-500:]
    return float(match.group(1))


def _peak_rss_of_replay(settings: Settings, tmp: Path) -> tuple[int, float]:
    hour = Hour.parse("2024-09-10-12")
    events = write_hour(hour, tmp / "synth", SynthConfig(events_per_hour=150_000, seed=1)).events
    env = {**os.environ, "GHLAKE_HOME": str(settings.state_dir),
           "GHLAKE_KAFKA__PORT": str(settings.kafka.port)}  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    argv = [sys.executable, "-m", "ghlake.cli.main", "replay", "--source", str(tmp / "synth"),
            "--from", hour.name]  # fmt: skip
    subprocess.run(argv, env=env, check=True, capture_output=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return events, max(peak, before) / 1024


def _report(
    rates: dict[str, list[float]],
    cpu: dict[str, list[float]],
    *,
    rounds: int,
    lines: list[bytes],
    span: list[Hour],
    span_lines: int,
) -> None:
    """The medians of every way, and the ratios to the targets."""
    median = {k: statistics.median(v) for k, v in rates.items()}
    megabytes = sum(map(len, lines)) / 1e6
    print(f"\nreal hour {HOUR}: {len(lines):,} events, {megabytes:.1f} MB JSON,"
          f" {rounds} rounds, medians:")  # fmt: skip
    for name, label in (("ghlake", "ghlake replay"), ("kcat", "zcat | kcat -P"),
                        ("perf", "kafka-producer-perf-test")):  # fmt: skip
        print(f"  {label:<26} {median[name]:>10,.0f} events/s")
    print(f"ratio ghlake / (zcat | kcat -P):        {median['ghlake'] / median['kcat']:.2f}"
          " (target >= 1.0)")  # fmt: skip
    print(f"ratio ghlake / kafka-producer-perf-test: {median['ghlake'] / median['perf']:.2f}"
          " (target >= 0.5)")  # fmt: skip
    print(f"\nthe {len(span)} real hours {span[0]} .. {span[-1]} as one range,"
          f" {span_lines:,} lines, medians:")  # fmt: skip
    print(f"  {'ghlake replay':<26} {median['ghlake range']:>10,.0f} lines/s")
    print(f"  {'zcat <hours> | kcat -P':<26} {median['kcat range']:>10,.0f} lines/s")
    ratio = median["ghlake range"] / median["kcat range"]
    print(f"ratio ghlake / (zcat | kcat -P), range:  {ratio:.2f} (target >= 1.0)")
    mine, peer = (statistics.median(cpu[k]) for k in ("ghlake range", "kcat range"))
    print(f"CPU a line (every thread or process, the broker's not counted): ghlake"
          f" {mine:.1f} µs, zcat | kcat {peer:.1f} µs ({mine / peer:.1f}x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not (DATA / HOUR.filename).is_file():
        sys.exit(f"the real hour {DATA / HOUR.filename} is needed")
    if shutil.which("kcat") is None:
        sys.exit("kcat is needed (apt-get install kcat)")

    with private_broker() as settings:
        home = settings.state_dir
        kafka = settings.kafka
        ledger = Ledger(f"sqlite:///{home / 'bench-ledger.db'}")
        with gzip.open(DATA / HOUR.filename, "rb") as handle:
            lines = [line.rstrip(b"\n") for line in handle]
        payload = home / "payload.txt"
        payload.write_bytes(b"\n".join(lines) + b"\n")
        span = _real_hours()
        span_lines = _line_count(span)
        rates: dict[str, list[float]] = {
            "ghlake": [], "kcat": [], "perf": [], "ghlake range": [], "kcat range": [],
        }  # fmt: skip
        cpu: dict[str, list[float]] = {"ghlake range": [], "kcat range": []}  # µs a line
        for n in range(args.rounds):
            topics = {name: f"bench.{name.replace(' ', '-')}.{n}" for name in rates}
            ensure_topics(
                kafka.bootstrap, [TopicSpec(t, kafka.partitions) for t in topics.values()]
            )
            order = list(rates) if n % 2 == 0 else list(reversed(rates))
            for name in order:
                if name == "ghlake":
                    rate, _ = _ghlake(settings, topics[name], ledger, [HOUR])
                elif name == "kcat":
                    rate, _ = _kcat(settings, topics[name], [HOUR], len(lines))
                elif name == "perf":
                    rate = _perf(settings, topics[name], payload, len(lines))
                elif name == "ghlake range":
                    rate, seconds = _ghlake(settings, topics[name], ledger, span)
                    cpu[name].append(seconds / span_lines * 1e6)
                else:
                    rate, seconds = _kcat(settings, topics[name], span, span_lines)
                    cpu[name].append(seconds / span_lines * 1e6)
                rates[name].append(rate)
            print(
                f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:,.0f} ev/s" for k, v in rates.items())
            )
        events, peak = _peak_rss_of_replay(settings, home)
        _report(rates, cpu, rounds=args.rounds, lines=lines, span=span, span_lines=span_lines)
        print(
            f"peak RSS of `ghlake replay` on a generated hour of {events:,} events: {peak:,.0f} MiB"
        )
        ledger.close()


if __name__ == "__main__":
    main()
