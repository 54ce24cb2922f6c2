"""Lake writing throughput as ratios measured in one run, and a worker's peak memory.

One private Kafka broker and MinIO (temporary state directory, free ports) and one
topic filled with real GH Archive lines (2015-01-01-1, repeated; 6 partitions). On that
same topic, one after the other, each from the start of the topic in its own group:

- kafka-consumer-perf-test (Java, the broker's own jars): consumes only; the limit.
- ghlake lake writer(s) (``ghlake worker``, faust-streaming): consume, normalize every
  event into the typed schema, drop events the table holds already, write zstd Parquet
  to MinIO and commit each batch with its offsets to the lake's Delta table.
- the Parquet writer before the Delta table (``ghlake worker`` of commit
  :data:`PARQUET_WRITER_COMMIT`, its ``src/`` exported with ``git archive``): the
  baseline the Delta writer must stay within 10% of (one worker each).
- Spark Structured Streaming (optional, ``--spark``): the same Kafka-to-Parquet work
  (see spark/lake_baseline.py) on local[2], in the Spark environment (``ghlake spark install``).
- a Faust agent that only reads (bench/faust_agent_reader.py): the ceiling of a lake
  writer that took its events through an agent's stream instead of whole batches
  (why the worker does not: stream-processors/README.md).

Then, on the table the last ghlake run wrote: the reconciliation read
(``count_by_source_hour``: the Delta log's statistics, ranged reads where a file mixes
hours) against reading the ``source_hour`` column of the whole snapshot; and compaction
(``ghlake lake compact``) in MB/s of files rewritten.

Each copy of the real hour gets other event ids (a digit prefixed), so that every event
is distinct: the writer stores an event published twice once.

Rates are steady state: events after the first batch (or micro-batch) divided by the
time from its end to the last one, which leaves out process start and group joins
(kafka-consumer-perf-test reports its fetch rate without the join, too). The writers
are also measured in events per CPU-second over the same window (their utime + stime
from /proc): on a machine shared with other work, wall-clock rates of runs made one
after the other are not comparable, the CPU each event costs is. Targets:
ghlake / Spark >= 1.5 with 2 workers on the same cores (Spark runs local[2]: two
workers are the like for like on a 2-core machine); Delta writer / Parquet writer >=
0.9; a worker's peak RSS < 1 GiB with batches of 100k events.

    .venv/bin/python bench/lake.py [--events 600000] [--batch 100000] [--workers 1,2]
                                   [--spark]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from broker import free_port, proc_cpu_seconds  # bench/broker.py, beside this script

from ghlake.events.provenance import Provenance
from ghlake.kafka.producer import EventPublisher
from ghlake.kafka.topics import ensure_topics, event_topics
from ghlake.lake import maintenance
from ghlake.lake.reader import count_by_source_hour
from ghlake.lake.table import LakeTable
from ghlake.platform import Platform
from ghlake.services.kafka_broker import java_argv
from ghlake.services.supervisor import ProcessSpec
from ghlake.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
REAL_HOUR = (ROOT / ".." / "shared" / "data" / "gharchive" / "2015-01-01-1.json.gz").resolve()
TOPIC = "bench.events"
PARTITIONS = 6
PARQUET_WRITER_COMMIT = "0e268fab803190dbc74490d6df4d2793d16aa5b2"
"""The last commit whose lake writer wrote plain Parquet with bucket checkpoints."""


def _stack(home: Path) -> Platform:
    """Kafka and MinIO only, on free ports, with GHLAKE_* exported for child processes."""
    os.environ.update({
        "GHLAKE_HOME": str(home), "GHLAKE_KAFKA__PORT": str(free_port()),
        "GHLAKE_KAFKA__CONTROLLER_PORT": str(free_port()), "GHLAKE_KAFKA__TOPIC": TOPIC,
        "GHLAKE_KAFKA__PARTITIONS": str(PARTITIONS), "GHLAKE_MINIO__PORT": str(free_port()),
        "GHLAKE_MINIO__CONSOLE_PORT": str(free_port()),
    })  # fmt: skip
    platform = Platform(Settings())
    for name in ("kafka", "minio"):
        platform.stack.start(name)
    return platform


def _fill(settings: Settings, events: int) -> tuple[int, float]:
    """Publish ``events`` real lines (the real hour repeated, one provenance hour per copy)."""
    ensure_topics(settings.kafka.bootstrap, event_topics(settings.kafka))
    with gzip.open(REAL_HOUR, "rb") as handle:
        lines = [line.rstrip(b"\n") for line in handle]
    publisher = EventPublisher(settings.kafka)
    published = size = 0
    copy = 0
    while published < events:
        # Other ids for each copy: distinct events (the writer keeps one of each identity).
        chunk = [line.replace(b'{"id":"', b'{"id":"%d' % (copy + 1), 1) if copy else line
                 for line in lines[: events - published]]  # fmt: skip
        # Each copy as another hour: the producer dead-letters repeats within one hour.
        provenance = Provenance("gharchive", f"2015-01-01-{copy % 24}", "2015-01-01T00:00:00Z")
        result = publisher.publish_lines(chunk, provenance)
        published += result.published
        size += sum(map(len, chunk))
        copy += 1
    return published, size / published


def _perf_test(settings: Settings, events: int) -> float:
    argv = java_argv(
        settings, "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", settings.kafka.bootstrap, "--topic", TOPIC,
        "--messages", str(events), "--group", f"bench-perf-{time.time_ns()}",
        "--timeout", "60000", heap="1g",
    )  # fmt: skip
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rows = [line for line in output.splitlines() if re.match(r"^\d{4}-", line)]
    if not rows:
        raise RuntimeError(f"unexpected perf-test output:\n{output[-2000:]}")
    # start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
    fields = [f.strip() for f in rows[-1].split(",")]
    return float(fields[-1])


def _rows_written(client: httpx.Client, port: int) -> float:
    try:
        text = client.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    match = re.search(r"^ghlake_lake_rows_written_total (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int | None) -> float:
    """User and system CPU seconds a process has used (its threads included)."""
    if pid is None:
        return 0.0
    return proc_cpu_seconds(Path(f"/proc/{pid}/stat"))


@dataclasses.dataclass(frozen=True)
class _WriterRun:
    rate: float  # steady-state events/s, wall clock
    per_cpu: float  # steady-state events per CPU-second of the workers (robust to a busy machine)
    peaks: list[float]  # each worker's peak RSS, MiB


def _parquet_writer_src(home: Path) -> Path:
    """The ``src/`` of the Parquet writer's commit, exported into ``home``."""
    target = home / "parquet-writer"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", PARQUET_WRITER_COMMIT, "src"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def _ghlake(
    platform: Platform, events: int, batch: int, workers: int, table: str,
    *, old_src: Path | None = None,
) -> _WriterRun:  # fmt: skip
    """Steady-state rates of ``workers`` lake writers in one fresh group; their peak RSS.

    With ``old_src``, the workers run the Parquet writer of that source tree instead.
    """
    base = platform.stack.service("lake-writer").spec()
    run = time.time_ns()
    specs: list[ProcessSpec] = []
    for n in range(workers):
        port = free_port()
        env = {"GHLAKE_LAKE__WEB_PORT": str(port), "GHLAKE_LAKE__CONSUMER_GROUP": f"bench-{run}",
               "GHLAKE_LAKE__TABLE": table, "GHLAKE_LAKE__PREFIX": table,
               "GHLAKE_LAKE__BATCH_MAX_EVENTS": str(batch),
               # The last batch waits this long for events that never come: short, so
               # that the tail of the topic does not weigh on the rate.
               "GHLAKE_LAKE__BATCH_MAX_SECONDS": "2"}  # fmt: skip
        if old_src is not None:
            env["PYTHONPATH"] = str(old_src)
        specs.append(dataclasses.replace(
            base, name=f"bench-writer-{n}", address=f"http://127.0.0.1:{port}", env=env,
            health=lambda port=port: httpx.get(f"http://127.0.0.1:{port}/healthz").is_success,
        ))  # fmt: skip
    ports = [int(s.env["GHLAKE_LAKE__WEB_PORT"]) for s in specs]
    client = httpx.Client()
    try:
        for spec in specs:
            platform.stack.supervisor.start(spec)
        pids = [platform.stack.supervisor.pid(s.name) for s in specs]
        first: tuple[float, float, float] | None = None
        deadline = time.monotonic() + 900
        while True:
            rows = sum(_rows_written(client, p) for p in ports)
            now = time.monotonic()
            if first is None and rows > 0:
                first = (now, rows, sum(map(_cpu_seconds, pids)))
            if rows >= events:
                break
            if now > deadline:
                raise RuntimeError(f"the lake writers wrote {rows:,.0f} of {events:,} events")
            time.sleep(0.2)  # polling costs the workers' CPU too
        assert first is not None
        if rows == first[1]:
            raise RuntimeError("one batch held every event; use more --events than --batch")
        cpu = sum(map(_cpu_seconds, pids)) - first[2]
        peaks = [_peak_rss_mib(pid or -1) for pid in pids]
        return _WriterRun((rows - first[1]) / (now - first[0]), (rows - first[1]) / cpu, peaks)
    finally:
        client.close()
        for spec in specs:
            platform.stack.supervisor.stop(spec)


def _faust_agent(settings: Settings, events: int) -> float:
    env = {**os.environ, "BENCH_BOOTSTRAP": settings.kafka.bootstrap, "BENCH_TOPIC": TOPIC,
           "BENCH_EVENTS": str(events), "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
    argv = [sys.executable, str(ROOT / "bench" / "faust_agent_reader.py")]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
    # Faust's worker sends what the process prints through its logging (to stderr).
    found = re.findall(
        r'\{"events": \d+, "events_per_second": [\d.]+\}', result.stdout + result.stderr
    )
    if not found:
        raise RuntimeError(f"the Faust agent reader failed:\n{result.stderr[-3000:]}")
    return float(json.loads(found[-1])["events_per_second"])


def _reconcile_read(platform: Platform) -> tuple[float, float]:
    """Seconds to count events per source hour: ghlake's reader, and the whole column."""
    table, store = platform.lake_table, platform.store
    started = time.perf_counter()
    ours = count_by_source_hour(table, store)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    column = table.dataset().to_table(columns=["source_hour"]).column("source_hour")
    plain: dict[str, int] = {}
    for hour in column.to_pylist():
        plain[hour] = plain.get(hour, 0) + 1
    plain_s = time.perf_counter() - started
    if plain != ours:
        raise RuntimeError("the two readings of the lake disagree")
    return ours_s, plain_s


def _compaction(table: LakeTable) -> tuple[float, int, int]:
    """MB/s of files rewritten by compacting the (closed) partitions; files before, after."""
    before = len(table.files())
    started = time.perf_counter()
    result = maintenance.compact(table, 128)
    seconds = time.perf_counter() - started
    return result.bytes_read / 1e6 / seconds, before, len(table.files())


def _spark(platform: Platform, events: int, batch: int) -> float:
    """The Spark baseline, run in the Spark environment (``ghlake spark install``)."""
    environment = platform.spark
    environment.install()  # once per pin; the notebooks, jobs and tests use the same one
    script = ROOT / "spark" / "lake_baseline.py"
    work = platform.settings.state_dir / f"spark-{time.time_ns()}"
    # Spark writes to the local disk: cheaper than MinIO, so the ratio is conservative for ghlake.
    argv = [str(environment.python), str(script), "--events", str(events),
            "--max-offsets", str(batch), "--out", str(work / "lake"),
            "--work-dir", str(work)]  # fmt: skip
    env = {**os.environ, **environment.env(), "GHLAKE_SPARK__DRIVER_UI_PORT": "0"}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"the Spark job failed:\n{_spark_error(result.stderr)}")
    report = json.loads(lines[-1])
    if report["rows"] != events:
        raise RuntimeError(f"Spark wrote {report['rows']:,} of {events:,} events")
    return float(report["events_per_second"])


def _spark_error(stderr: str) -> str:
    """What a failed Spark job said: its Python traceback, else its last lines that are
    not Spark's WARN/INFO logging."""
    lines = stderr.splitlines()
    tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    if tracebacks:
        return "\n".join(lines[tracebacks[-1] :][:60])
    quiet = [line for line in lines if not re.search(r" (WARN|INFO) ", line)]
    return "\n".join(quiet[-30:])


@dataclasses.dataclass
class _Figures:
    perf: float = 0.0
    ours: dict[int, float] = dataclasses.field(default_factory=dict)
    parquet: float = 0.0  # the Parquet writer before the Delta table, one worker
    per_cpu: dict[str, float] = dataclasses.field(default_factory=dict)  # events per CPU-second
    compaction: tuple[float, int, int] = (0.0, 0, 0)  # MB/s, files before, after
    peak_mib: float = 0.0
    agent: float = 0.0
    spark: float = 0.0
    count_seconds: tuple[float, float] = (0.0, 0.0)  # ghlake's reader, whole objects


def _measure(platform: Platform, args: argparse.Namespace) -> _Figures:
    settings = platform.settings
    figures = _Figures()
    published, mean_size = _fill(settings, args.events)
    print(f"topic {TOPIC}: {published:,} real GH Archive events, mean {mean_size:,.0f} bytes,"
          f" {PARTITIONS} partitions; batches of {args.batch:,}")  # fmt: skip
    figures.perf = _perf_test(settings, published)
    print(f"kafka-consumer-perf-test   {figures.perf:>10,.0f} events/s (consume only: the limit)")
    old_src = _parquet_writer_src(settings.state_dir)
    old = _ghlake(
        platform, published, args.batch, 1, f"bench-parquet-{time.time_ns()}", old_src=old_src
    )
    figures.parquet, figures.per_cpu["parquet"] = old.rate, old.per_cpu
    print(f"Parquet writer (before Delta) x1 {old.rate:>10,.0f} events/s, {old.per_cpu:,.0f}"
          f" per CPU-second (peak RSS {old.peaks[0]:,.0f} MiB)")  # fmt: skip
    table = ""
    for workers in (int(n) for n in args.workers.split(",")):
        table = f"bench-{time.time_ns()}"
        run = _ghlake(platform, published, args.batch, workers, table)
        figures.ours[workers] = run.rate
        figures.per_cpu[f"x{workers}"] = run.per_cpu
        figures.peak_mib = max(figures.peak_mib, *run.peaks)
        rss = ", ".join(f"{p:,.0f} MiB" for p in run.peaks)
        print(f"ghlake lake writer x{workers}     {run.rate:>10,.0f} events/s, {run.per_cpu:,.0f}"
              f" per CPU-second (peak RSS per worker: {rss})")  # fmt: skip
    figures.agent = _faust_agent(settings, published)
    print(f"Faust agent, reading only  {figures.agent:>10,.0f} events/s (nothing written)")
    if args.spark:
        figures.spark = _spark(platform, published, args.batch)
        print(f"Spark Structured Streaming {figures.spark:>10,.0f} events/s (local[2])")
    lake = settings.lake.model_copy(update={"table": table})
    measured = Platform(settings.model_copy(update={"lake": lake}))
    figures.count_seconds = _reconcile_read(measured)
    print(f"counting the lake per source hour: {figures.count_seconds[0]:.2f} s (Delta log"
          f" statistics), {figures.count_seconds[1]:.2f} s (the whole column)")  # fmt: skip
    figures.compaction = _compaction(measured.lake_table)
    rate_mb, before, after = figures.compaction
    print(f"compaction: {rate_mb:,.1f} MB/s rewritten, {before:,} files -> {after:,}")
    return figures


def _report(figures: _Figures, batch: int) -> None:
    spark = figures.spark
    for workers, rate in figures.ours.items():
        line = f"x{workers}: ghlake / kafka-consumer-perf-test {rate / figures.perf:.3f}"
        if spark:
            cores = "same cores" if workers == 2 else f"{workers} vs 2 cores"
            line += f", ghlake / Spark local[2] {rate / spark:.2f} ({cores}; target >= 1.5)"
        print(line)
    delta_vs_parquet = figures.ours[1] / figures.parquet
    verdict = "within" if delta_vs_parquet >= 0.9 else "MORE than"
    print(f"Delta writer / Parquet writer x1 {delta_vs_parquet:.2f} ({verdict} 10% below)")
    per_cpu = figures.per_cpu["x1"] / figures.per_cpu["parquet"]
    verdict = "within" if per_cpu >= 0.9 else "MORE than"
    print(f"Delta writer / Parquet writer x1, events per CPU-second {per_cpu:.2f} ({verdict} 10%"
          " below; CPU time is what a busy machine leaves comparable)")  # fmt: skip
    line = f"Faust agent reading only / ghlake x1 {figures.agent / figures.ours[1]:.2f}"
    if spark:
        line += f", / Spark {figures.agent / spark:.2f} (before writing anything)"
    print(line)
    ours_s, plain_s = figures.count_seconds
    print(f"lake count per source hour: whole column / ghlake reader {plain_s / ours_s:.1f}")
    print(f"compaction {figures.compaction[0]:,.1f} MB/s")
    verdict = "under" if figures.peak_mib < 1024 else "OVER"
    print(f"worker peak memory {figures.peak_mib:,.0f} MiB with batches of {batch:,}:"
          f" {verdict} the 1 GiB target")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure; 1 first")
    parser.add_argument("--spark", action="store_true", help="also run the Spark baseline")
    args = parser.parse_args()
    if not REAL_HOUR.is_file():
        sys.exit(f"the real hour {REAL_HOUR} is needed (../shared/data/gharchive)")
    if args.workers.split(",")[0] != "1":
        sys.exit("--workers must measure one worker first (the ratios are to it)")

    home = Path(tempfile.mkdtemp(prefix="ghlake-bench-lake-"))
    platform = _stack(home)
    try:
        figures = _measure(platform, args)
        print()
        _report(figures, args.batch)
    finally:
        platform.stack.down()
        shutil.rmtree(home, ignore_errors=True)  # the topic, the lake and Spark's output


if __name__ == "__main__":
    main()
