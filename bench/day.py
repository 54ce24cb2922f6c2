"""A 2024-size day through the whole pipeline, per stage, against the floors of its files.

The day is generated once (``ghlake synth``, 200k events an hour as in 2024; kept
in the cache for the next run) and replayed into the stack as users start it:
``ghlake up`` in a private home on free ports, then ``ghlake replay`` of the hours.
From the replay's start, every second, the bench reads what each stage holds:

- Kafka: the replay has published every hour (the ledger's counts, acknowledged);
- lake: the Delta table holds each hour's events (the reconciler's lake count);
- warehouse: github_events holds them (its rows by source hour, then deduplicated).

It prints, per stage, the time until it held everything and its events/s; each
service's peak resident memory and CPU time (sampled every second), and how
busy the machine was; and, measured in the same
run on the same files, the floors: gunzip alone (``zcat > /dev/null``) and one
JSON parse pass with the fastest parser installed (gunzip included). It ends with
the ratio of the end-to-end rate to those floors (1.0 would be the pipeline at the
pace of merely reading its input once).

    .venv/bin/python bench/day.py [--hours 24] [--events-per-hour 200000]
                                  [--first 2024-03-05-0] [--writers 1]
                                  [--timeout 3600]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from broker import free_ports, proc_cpu_seconds  # bench/broker.py, beside this script

from ghlake.hours import Hour
from ghlake.platform import Platform
from ghlake.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
GHLAKE = [str(Path(sys.executable).with_name("ghlake"))]  # the venv's console script


def _hours(first: str, count: int) -> list[Hour]:
    hours = [Hour.parse(first)]
    while len(hours) < count:
        hours.append(hours[-1].next())
    return hours


def generated_day(cache: Path, hours: list[Hour], per_hour: int) -> Path:
    """The day's hour files, generated once into the cache (``ghlake synth``)."""
    tag = hashlib.sha256(f"{hours[0].name}:{len(hours)}:{per_hour}".encode()).hexdigest()[:10]
    folder = cache / "bench-day" / tag
    if (folder / ".complete").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"generating {len(hours)} hours of {per_hour:,} events into {folder} ...", flush=True)
    subprocess.run(
        [*GHLAKE, "synth", "--out", str(folder), "--from", hours[0].name, "--to",
         hours[-1].name, "--events-per-hour", str(per_hour), "--seed", "2024"],
        check=True,
    )  # fmt: skip
    (folder / ".complete").write_text("ok\n")
    return folder


def floors(files: list[Path]) -> tuple[float, float, str]:
    """Seconds of ``zcat > /dev/null`` and of one full parse pass; the parser's name."""
    started = time.perf_counter()
    subprocess.run(["zcat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
    gunzip = time.perf_counter() - started
    started = time.perf_counter()
    for path in files:
        with gzip.open(path, "rb") as handle:
            for line in handle:
                orjson.loads(line)
    return gunzip, time.perf_counter() - started, f"orjson {orjson.__version__}"


@dataclass
class ServiceSamples:
    """Each service's peak resident set and CPU time, sampled every second from its pid."""

    pids: dict[str, int]
    peaks: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds used since start()
    _first: dict[str, float] = field(default_factory=dict)
    _threads_first: dict[str, dict[int, tuple[str, float]]] = field(default_factory=dict)
    _threads_last: dict[str, dict[int, tuple[str, float]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._first = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        self._threads_first = {name: _thread_cpu(pid) for name, pid in self.pids.items()}
        threading.Thread(target=self._run, daemon=True).start()

    def threads(self, name: str) -> dict[str, float]:
        """CPU seconds a service spent since start(), per thread name (its comm)."""
        first, by_name = self._threads_first.get(name, {}), dict[str, float]()
        for tid, (comm, seconds) in self._threads_last.get(name, {}).items():
            used = seconds - first.get(tid, (comm, 0.0))[1]
            by_name[comm] = by_name.get(comm, 0.0) + used
        return by_name

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for name, pid in self.pids.items():
                mib = _rss_mib(pid)
                self.peaks[name] = max(self.peaks.get(name, 0.0), mib)
                used = _cpu_seconds(pid) - self._first[name]
                self.cpu[name] = max(self.cpu.get(name, 0.0), used)  # 0 once it is gone
                threads = _thread_cpu(pid)
                if threads:  # the last sample while the service was alive
                    self._threads_last[name] = {**self._threads_last.get(name, {}), **threads}


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        return proc_cpu_seconds(Path(f"/proc/{pid}/stat"))
    except OSError:
        return 0.0


def _thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Each thread of a process: its name and CPU seconds so far (/proc/PID/task)."""
    threads = {}
    try:
        tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return {}
    for tid in tids:
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            threads[tid] = (comm, proc_cpu_seconds(Path(f"/proc/{pid}/task/{tid}/stat")))
        except OSError:
            continue  # the thread ended
    return threads


def _machine_busy() -> tuple[float, float]:
    """CPU seconds busy and in total over all cores since boot (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / _TICKS, sum(ticks) / _TICKS


def _rss_mib(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ClickHouse's own counters (system.events) of where the warehouse's work went.
PROFILE_EVENTS = (
    "KafkaMessagesRead", "KafkaRowsRead", "InsertedRows", "InsertedBytes",
    "MergedRows", "MergedUncompressedBytes", "MergesTimeMilliseconds",
    "SelectedRows", "SelectQueryTimeMicroseconds", "InsertQueryTimeMicroseconds",
    "UserTimeMicroseconds", "SystemTimeMicroseconds", "OSCPUVirtualTimeMicroseconds",
    "CompressedReadBufferBytes", "ReadCompressedBytes", "WriteBufferFromFileDescriptorWriteBytes",
)  # fmt: skip


def profile_events(platform: Platform) -> dict[str, int]:
    """The warehouse's cumulative ClickHouse counters named in :data:`PROFILE_EVENTS`."""
    result = platform.warehouse.sql("SELECT event, value FROM system.events")
    return {str(name): int(value) for name, value in result.rows if name in PROFILE_EVENTS}


def _stage_times(
    platform: Platform, expected: dict[str, int], replay: subprocess.Popen[bytes], timeout: float
) -> dict[str, float]:
    """Seconds from now until each stage held every event of ``expected``."""
    started = time.monotonic()
    done: dict[str, float] = {}
    while len(done) < 3:
        now = time.monotonic() - started
        if "kafka" not in done and replay.poll() is not None:
            if replay.returncode != 0:
                raise SystemExit(f"ghlake replay failed ({replay.returncode})")
            done["kafka"] = now
        counts = platform.reconciler.progress(expected)  # the warehouse's rows: cheap
        if "lake" not in done and all(c.lake >= c.published for c in counts):
            done["lake"] = now
        if "warehouse" not in done and all(c.warehouse >= c.published for c in counts):
            exact = platform.reconciler.counts(expected)  # deduplicated, once rows suffice
            if all(c.warehouse >= c.published for c in exact):
                done["warehouse"] = now
        if now > timeout:
            held = {c.hour.name: (c.published, c.lake, c.warehouse) for c in counts}
            raise SystemExit(f"not reconciled after {timeout:.0f} s: {held}")
        # Each poll reads a column of the whole table: every second for a day's 17 minutes
        # was 3 billion rows read (the warehouse's SelectedRows). 1% of the time so far
        # bounds both the error of a stage's time and what the polls cost.
        time.sleep(max(1.0, now / 100))
    return done


def main() -> None:
    """Generate (once), replay, time each stage, print rates, memory, floors and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--events-per-hour", type=int, default=200_000)
    parser.add_argument("--first", default="2024-03-05-0")
    parser.add_argument("--writers", type=int, default=1, help="lake writers (lake.writers)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--stop", action="append", default=[], metavar="SERVICE",
                        help="stop a service before the replay (to see its cost)")  # fmt: skip
    args = parser.parse_args()
    hours = _hours(args.first, args.hours)
    settings = Settings()
    folder = generated_day(settings.cache_dir, hours, args.events_per_hour)
    files = [folder / f"{hour.name}.json.gz" for hour in hours]
    expected = {}
    for hour, path in zip(hours, files, strict=True):
        with gzip.open(path, "rb") as handle:
            expected[hour.name] = sum(1 for _ in handle)
    events = sum(expected.values())
    size = sum(p.stat().st_size for p in files)
    print(f"day: {len(hours)} hours from {hours[0].name}, {events:,} events, "
          f"{size / 2**20:,.0f} MiB gzip", flush=True)  # fmt: skip

    gunzip, parse, parser_name = floors(files)
    run = run_day(
        hours, folder, expected, writers=args.writers, timeout=args.timeout, stop=args.stop
    )
    report(run, events)
    rate = events / max(run.times.values())
    print(f"\nfloors on the same files: zcat > /dev/null {gunzip:.1f} s "
          f"({events / gunzip:,.0f} events/s); one parse pass ({parser_name}, gunzip "
          f"included) {parse:.1f} s ({events / parse:,.0f} events/s)")  # fmt: skip
    print(f"end to end / gunzip floor {rate / (events / gunzip):.3f}; "
          f"end to end / parse floor {rate / (events / parse):.3f}; "
          f"target: the whole 24-hour day in 300 s (16k events/s)")  # fmt: skip


@dataclass
class DayRun:
    """What one replay of the day measured."""

    times: dict[str, float]  # stage -> seconds until it held everything
    samples: ServiceSamples
    busy_seconds: float  # the machine's CPU-seconds busy over the run, all cores
    all_seconds: float  # ... and available
    warehouse_events: dict[str, int]  # system.events counted over the run


def run_day(
    hours: list[Hour],
    folder: Path,
    expected: dict[str, int],
    *,
    writers: int,
    timeout: float,
    stop: list[str],
) -> DayRun:
    """``ghlake up`` in a private home on free ports, replay the hours, time each stage."""
    with tempfile.TemporaryDirectory(prefix="ghlake-day-") as home:
        names = (
            "KAFKA__PORT", "KAFKA__CONTROLLER_PORT", "MINIO__PORT", "MINIO__CONSOLE_PORT",
            "WAREHOUSE__PORT", "WAREHOUSE__HTTP_PORT", "LAKE__WEB_PORT", "API__PORT",
            "PROMETHEUS__PORT",
        )  # fmt: skip
        env = {f"GHLAKE_{name}": str(port)
               for name, port in zip(names, free_ports(len(names)), strict=True)}  # fmt: skip
        env["GHLAKE_HOME"] = home
        env["GHLAKE_LAKE__WRITERS"] = str(writers)
        os.environ.update(env)
        try:  # a failed start leaves services running too: down in any case
            subprocess.run([*GHLAKE, "up"], check=True, stdout=subprocess.DEVNULL)
            with contextlib.closing(Platform(Settings())) as platform:
                for name in stop:
                    platform.stack.supervisor.stop(platform.stack.service(name).spec())
                return _measure(platform, hours, folder, expected, timeout)
        finally:
            subprocess.run([*GHLAKE, "down"], check=False, stdout=subprocess.DEVNULL)


def _measure(
    platform: Platform, hours: list[Hour], folder: Path, expected: dict[str, int], timeout: float
) -> DayRun:
    samples = ServiceSamples({s.name: s.pid for s in platform.stack.status() if s.pid})
    samples.start()
    try:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = _machine_busy()
        counters = profile_events(platform)
        replay = subprocess.Popen(
            [*GHLAKE, "replay", "--from", hours[0].name, "--to", hours[-1].name,
             "--source", str(folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        replay_samples = ServiceSamples({"replay": replay.pid})
        replay_samples.start()
        try:
            times = _stage_times(platform, expected, replay, timeout)
        finally:
            replay_samples.stop()
        samples.peaks["replay"] = replay_samples.peaks.get("replay", 0.0)
        after = _machine_busy()
        later = profile_events(platform)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # the replay, waited for
    finally:
        samples.stop()
    samples.cpu["replay"] = (reaped.ru_utime - children.ru_utime
                             + reaped.ru_stime - children.ru_stime)  # fmt: skip
    counted = {name: later.get(name, 0) - counters.get(name, 0) for name in PROFILE_EVENTS}
    return DayRun(times, samples, after[0] - busy[0], after[1] - busy[1], counted)


def report(run: DayRun, events: int) -> None:
    """Each stage's time and rate; the machine's load; each service's memory and CPU."""
    print(f"\n{'stage':<12}{'holds all after':>18}{'events/s':>12}")
    for stage in ("kafka", "lake", "warehouse"):
        print(f"{stage:<12}{run.times[stage]:>16.1f} s{events / run.times[stage]:>12,.0f}")
    end_to_end = max(run.times.values())
    print(f"{'end to end':<12}{end_to_end:>16.1f} s{events / end_to_end:>12,.0f}")
    busy = run.busy_seconds
    print(
        f"\nmachine: {busy:,.0f} of {run.all_seconds:,.0f} CPU-seconds busy "
        f"({busy / run.all_seconds:.0%} of {os.cpu_count()} cores) until the last stage"
    )
    cpu, peaks = run.samples.cpu, run.samples.peaks
    print(f"\n  {'service':<14}{'peak RSS MiB':>14}{'CPU s':>9}{'µs/event':>10}{'of busy':>9}")
    for name in sorted(cpu, key=cpu.__getitem__, reverse=True):
        mib = peaks.get(name, 0.0)
        print(f"  {name:<14}{mib:>14,.0f}{cpu[name]:>9,.1f}{cpu[name] / events * 1e6:>10,.0f}"
              f"{cpu[name] / busy:>9.0%}{'  over 1 GiB' if mib > 1024 else ''}")  # fmt: skip
    total = sum(cpu.values())
    print(f"  {'all of these':<14}{'':>14}{total:>9,.1f}{total / events * 1e6:>10,.0f}"
          f"{total / busy:>9.0%}")  # fmt: skip
    for name in ("warehouse", "lake-writer", "kafka"):
        threads = sorted(run.samples.threads(name).items(), key=lambda t: t[1], reverse=True)
        shown = ", ".join(f"{comm} {used:,.1f}" for comm, used in threads[:8] if used >= 0.1)
        print(f"\n{name}: CPU seconds per thread name: {shown}")
    print("\nwarehouse, ClickHouse's counters over the run (system.events), per event:")
    for name, value in run.warehouse_events.items():
        print(f"  {name:<42}{value:>18,}{value / events:>14,.1f}")


if __name__ == "__main__":
    main()
