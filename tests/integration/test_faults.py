"""Real faults on the real stack: each test ends with the lake equal to the source.

"Equal" is checked by :func:`ghlake.lake.verify.verify_hour`: every event of the source
file in the lake exactly once by (id, created_at), nothing missing, nothing duplicated.
Generated hours are in 2019 (real hours belong to the real_hours fixture). Every service
a test kills or stops is running again when it ends.
"""

from __future__ import annotations

import dataclasses
import gzip
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from ghlake.hours import Hour
from ghlake.lake.checkpoint import DeadLetterMarks
from ghlake.lake.verify import HourVerification, verify_hour
from ghlake.platform import Platform
from ghlake.services.supervisor import ProcessSpec
from ghlake.sources.archive import open_archive
from ghlake.streams.lake_app import (
    FAILPOINT_PAUSE_AFTER_DEAD_LETTERS,
    FAILPOINT_PAUSE_AFTER_FIRST_OBJECT,
    FAILPOINT_PAUSE_BEFORE_COMMIT,
    FAILPOINT_PAUSE_BEFORE_TABLE_COMMIT,
)
from ghlake.synth import SynthConfig, write_hour
from ghlake.synth.hourfile import generate_hour
from tests.conftest import read_dead_letters, replay, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WRITER = "lake-writer"


def _health(url: str) -> int:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _lake_url(platform: Platform) -> str:
    lake = platform.settings.lake
    return f"http://{lake.web_host}:{lake.web_port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_spec(
    platform: Platform, name: str = WRITER, port: int | None = None, **env: str
) -> ProcessSpec:
    """A lake writer process like the stack's, under another name, port or lake settings."""
    base = platform.stack.service(WRITER).spec()
    port = port or platform.settings.lake.web_port
    url = f"http://{platform.settings.lake.web_host}:{port}"
    settings = {"GHLAKE_LAKE__WEB_PORT": str(port)} | {
        f"GHLAKE_LAKE__{k.upper()}": v for k, v in env.items()
    }
    return dataclasses.replace(
        base,
        name=name,
        address=url,
        env={**base.env, **settings},
        health=lambda: _health(url) == 200,
    )


def wait_lake_holds(
    platform: Platform, source: Path, hours: list[str], timeout: float = 180
) -> list[HourVerification]:
    """Poll until the lake holds every listed hour of ``source`` exactly; the last results."""
    archive = open_archive(source)
    deadline = time.monotonic() + timeout
    while True:
        results = [
            verify_hour(platform.lake_table, platform.store, archive, Hour.parse(h)) for h in hours
        ]
        if all(r.ok for r in results) or time.monotonic() > deadline:
            return results
        time.sleep(2)


def assert_lake_equals_source(results: list[HourVerification]) -> None:
    """No loss, no duplicate, nothing foreign."""
    for r in results:
        assert (r.missing, r.duplicates, r.unexpected) == (0, 0, 0), r
        assert r.lake_rows == r.source_events == r.source_lines, r


class LogTail:
    """The JSON log lines a service writes from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.position = path.stat().st_size if path.exists() else 0
        self.seen: list[dict[str, Any]] = []

    def new(self) -> Iterator[dict[str, Any]]:
        """Log entries written since the last call."""
        with self.path.open("rb") as handle:
            handle.seek(self.position)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self.position += end
        for line in data[:end].splitlines():
            if line.startswith(b"{"):
                entry = orjson.loads(line)
                self.seen.append(entry)
                yield entry

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The first new entry that matches, polling the file every 2 ms."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.new():
                if match(entry):
                    return entry
            time.sleep(0.002)
        raise AssertionError(f"no matching log entry in {self.path} within {timeout:.0f}s")


def _msg(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda entry: entry.get("msg") == text


def _spread_hour(directory: Path, name: str, hours: int, per_hour: int, seed: int) -> int:
    """A source file of late events: lines of ``hours`` generated 2019 hours, interleaved.

    Each batch then touches many event-hour partitions, so a batch uploads many
    objects and a kill lands inside an upload rather than between batches.
    """
    config = SynthConfig(events_per_hour=per_hour, seed=seed)
    streams = [list(generate_hour(Hour.parse(f"2019-03-01-{h}"), config)) for h in range(hours)]
    lines = [line for group in zip(*streams, strict=True) for line in group]
    with gzip.open(directory / f"{name}.json.gz", "wb", compresslevel=1) as handle:
        handle.write(b"\n".join(lines) + b"\n")
    return len(lines)


def _committed(platform: Platform) -> dict[int, int]:
    consumer = Consumer(
        {
            "bootstrap.servers": platform.settings.kafka.bootstrap,
            "group.id": platform.settings.lake.consumer_group,
            "enable.auto.commit": False,
        }
    )
    try:
        topic = platform.settings.kafka.topic
        parts = [TopicPartition(topic, p) for p in range(platform.settings.kafka.partitions)]
        return {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()


def _orphans(platform: Platform) -> set[str]:
    """Data files under the table that no version references (batches never committed)."""
    table = platform.lake_table
    listed = {i.key[len(table.prefix) + 1 :] for i in platform.store.list(f"{table.prefix}/")}
    return {k for k in listed if k.endswith(".parquet")} - {f.path for f in table.files()}


def _table_offsets(platform: Platform) -> dict[int, int]:
    partitions = range(platform.settings.kafka.partitions)
    return platform.lake_table.offsets(platform.settings.kafka.topic, list(partitions))


def test_kill_9_at_every_step_of_a_batch_then_restart_leaves_the_lake_equal_to_the_source(
    platform: Platform, tmp_path: Path
) -> None:
    hour = "2019-03-01-12"
    events = _spread_hour(tmp_path, hour, hours=12, per_hour=3000, seed=21)
    spec = worker_spec(platform, batch_max_events="4000", batch_max_seconds="30")
    log = LogTail(platform.stack.supervisor.log_file(WRITER))
    first = dataclasses.replace(spec, env={**spec.env, FAILPOINT_PAUSE_AFTER_FIRST_OBJECT: "30"})
    orphans_before = _orphans(platform)
    platform.stack.supervisor.stop(platform.stack.service(WRITER).spec())
    try:
        platform.stack.supervisor.start(first)
        [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
        assert report.published == events

        # 1. Killed while a batch's files are being written: the worker pauses after the
        #    first file of its first batch (a fault-injection point) and is killed there.
        log.wait_for(_msg("failpoint: pausing after the first object"), timeout=120)
        stored = _table_offsets(platform)
        platform.stack.supervisor.signal(WRITER, signal.SIGKILL)
        assert _orphans(platform) - orphans_before, "a file of the batch is in no version"
        assert _table_offsets(platform) == stored, "nothing of the batch was committed"
        platform.stack.supervisor.stop(first)  # reaps the killed process

        # 2. Killed after a batch's files are written, before the table commit.
        paused = dataclasses.replace(
            spec, env={**spec.env, FAILPOINT_PAUSE_BEFORE_TABLE_COMMIT: "30"}
        )
        platform.stack.supervisor.start(paused)
        log.wait_for(_msg("failpoint: pausing before the table commit"), timeout=120)
        stored = _table_offsets(platform)
        orphans = _orphans(platform)
        platform.stack.supervisor.signal(WRITER, signal.SIGKILL)
        assert _table_offsets(platform) == stored
        platform.stack.supervisor.stop(paused)

        # 3. Killed after the table commit, before the Kafka offset commit: the next
        #    worker seeks each partition to the table's offset + 1, past the Kafka one.
        paused = dataclasses.replace(spec, env={**spec.env, FAILPOINT_PAUSE_BEFORE_COMMIT: "30"})
        platform.stack.supervisor.start(paused)
        log.wait_for(_msg("failpoint: pausing before the offset commit"), timeout=120)
        platform.stack.supervisor.signal(WRITER, signal.SIGKILL)
        stored = _table_offsets(platform)
        committed = _committed(platform)
        ahead = {p for p in stored if stored[p] >= committed[p] and stored[p] >= 0}
        assert ahead, (stored, committed)
        platform.stack.supervisor.stop(paused)
        platform.stack.supervisor.start(spec)
        assigned = log.wait_for(
            _msg("partitions assigned; each starts after its offset in the table"), timeout=120
        )
        starts = {int(p): o for p, o in assigned["offsets"].items()}
        assert all(starts[p] == stored[p] + 1 for p in ahead & set(starts)), (starts, stored)
        # ... and commits them to its group at once, so lag monitors see the table's position.
        wait_for(lambda: all(_committed(platform)[p] > stored[p] for p in ahead), timeout=10)

        results = wait_lake_holds(platform, tmp_path, [hour])
        assert_lake_equals_source(results)
        assert len(results[0].partitions) == 12
        # The uncommitted files are orphans that vacuum removes; the lake stays whole.
        assert orphans <= _orphans(platform)
        deleted = platform.lake_table.vacuum(0, dry_run=False)
        assert deleted
        assert not _orphans(platform)
        assert_lake_equals_source(wait_lake_holds(platform, tmp_path, [hour]))
    finally:
        platform.stack.supervisor.stop(spec)
        platform.stack.supervisor.start(platform.stack.service(WRITER).spec())


def test_kill_9_after_the_dead_letters_publishes_each_letter_once(
    platform: Platform, tmp_path: Path
) -> None:
    hour = "2019-03-02-5"
    good = list(generate_hour(Hour.parse(hour), SynthConfig(events_per_hour=600, seed=33)))
    unmappable = [
        b'{"id":"10800000%03d","type":"FancyNewEvent","actor":{"id":1,"login":"a"},'
        b'"repo":{"id":%d,"name":"o/r%d"},"payload":{},"created_at":"2019-03-02T05:00:00Z"}'
        % (n, n, n)
        for n in range(6)  # several repositories: the letters spread over partitions
    ]
    lines = good[:200] + unmappable[:3] + good[200:] + unmappable[3:]
    with gzip.open(tmp_path / f"{hour}.json.gz", "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")
    spec = worker_spec(platform, batch_max_events="50000", batch_max_seconds="5")
    paused = dataclasses.replace(spec, env={**spec.env, FAILPOINT_PAUSE_AFTER_DEAD_LETTERS: "30"})
    marks = DeadLetterMarks(
        platform.store, platform.settings.lake.table, platform.settings.kafka.topic
    )
    log = LogTail(platform.stack.supervisor.log_file(WRITER))
    platform.stack.supervisor.stop(platform.stack.service(WRITER).spec())
    try:
        platform.stack.supervisor.start(paused)
        [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
        assert report.published == len(lines)

        # Killed after the batch's dead letters are on the topic, before its table commit.
        log.wait_for(_msg("failpoint: pausing after the dead letters"), timeout=120)
        platform.stack.supervisor.signal(WRITER, signal.SIGKILL)
        pending = [marks.pending(p) for p in range(platform.settings.kafka.partitions)]
        assert any(i is not None for i in pending), "the batch's dead-letter marks remain"
        platform.stack.supervisor.stop(paused)
        platform.stack.supervisor.start(spec)
        found = log.wait_for(
            _msg("dead letters of an interrupted batch found published already"), timeout=120
        )
        assert found["dead_letters"] == len(unmappable)

        [result] = wait_lake_holds(platform, tmp_path, [hour])
        assert result.ok, result
        assert (result.source_lines, result.lake_rows) == (len(lines), len(good))
        letters = [h for _, h in read_dead_letters(platform) if h.get("hour") == hour.encode()]
        positions = Counter((h["kafka_partition"], h["kafka_offset"]) for h in letters)
        assert len(positions) == len(unmappable), letters
        assert set(positions.values()) == {1}, "each dead letter is on the topic once"
    finally:
        platform.stack.supervisor.stop(spec)
        platform.stack.supervisor.start(platform.stack.service(WRITER).spec())


def test_minio_down_30s_while_events_flow(platform: Platform, tmp_path: Path) -> None:
    hours = ["2019-05-01-10", "2019-05-01-11"]
    config = SynthConfig(events_per_hour=6000, seed=7)
    for name in hours:
        write_hour(Hour.parse(name), tmp_path, config)
    minio = platform.stack.service("minio")
    platform.stack.supervisor.stop(minio.spec())
    stopped = time.monotonic()
    try:
        [first] = replay(platform, str(tmp_path), [Hour.parse(hours[0])])
        deadline = time.monotonic() + 60
        while _health(_lake_url(platform)) != 503:
            assert time.monotonic() < deadline, "the lake writer never reported the stall"
            time.sleep(0.5)
        [second] = replay(platform, str(tmp_path), [Hour.parse(hours[1])])  # more while down
        assert first.published == second.published == 6000
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
    finally:
        platform.stack.supervisor.start(minio.spec())

    assert_lake_equals_source(wait_lake_holds(platform, tmp_path, hours))
    assert _health(_lake_url(platform)) == 200
    metrics = httpx.get(f"{_lake_url(platform)}/metrics", timeout=5).text
    retries = [
        line for line in metrics.splitlines() if line.startswith("ghlake_lake_store_retries_total")
    ]
    assert retries
    assert float(retries[0].split()[-1]) >= 3


def test_broker_restart_while_the_writer_runs(platform: Platform, tmp_path: Path) -> None:
    hours = ["2019-06-02-3", "2019-06-02-4"]
    config = SynthConfig(events_per_hour=15000, seed=5)
    for name in hours:
        write_hour(Hour.parse(name), tmp_path, config)
    writer_pid = platform.stack.supervisor.pid(WRITER)
    log = LogTail(platform.stack.supervisor.log_file(WRITER))
    kafka = platform.stack.service("kafka")
    [first] = replay(platform, str(tmp_path), [Hour.parse(hours[0])])
    assert first.published == 15000
    log.wait_for(_msg("lake file written"), timeout=60)
    try:
        platform.stack.supervisor.stop(kafka.spec())
        time.sleep(5)
    finally:
        platform.stack.supervisor.start(kafka.spec())
        _wait_partitions_led(platform)
    [second] = replay(platform, str(tmp_path), [Hour.parse(hours[1])])
    assert second.published == 15000

    assert_lake_equals_source(wait_lake_holds(platform, tmp_path, hours))
    assert platform.stack.supervisor.pid(WRITER) == writer_pid, "the worker rode out the restart"
    assert _health(_lake_url(platform)) == 200
    # The API's lag monitor rode it out too: a sample taken after the restart, without error,
    # lists the writer's group.
    restarted = time.time()

    seen: list[dict[str, Any]] = []

    def monitor_answers() -> bool:
        body = httpx.get(f"{platform.settings.api.url}/v1/lag", timeout=10).json()
        groups = {g["group"] for g in body["groups"]}
        seen[:] = [{"at": body["at"], "error": body.get("error"), "groups": sorted(groups)}]
        fresh = body["at"] > restarted and body.get("error") is None
        return fresh and platform.settings.lake.consumer_group in groups

    wait_for(monitor_answers, timeout=60, explain=lambda: f"the lag monitor's last view: {seen}")


def _wait_partitions_led(platform: Platform, timeout: float = 60) -> None:
    """After a broker start: wait until every partition of the topic has its leader back."""
    consumer = Consumer(
        {"bootstrap.servers": platform.settings.kafka.bootstrap, "group.id": "ghlake-test-probe"}
    )
    deadline = time.monotonic() + timeout
    try:
        for partition in range(platform.settings.kafka.partitions):
            tp = TopicPartition(platform.settings.kafka.topic, partition)
            while True:
                try:
                    consumer.get_watermark_offsets(tp, timeout=5)
                    break
                except KafkaException:
                    assert time.monotonic() < deadline, f"partition {partition} has no leader"
                    time.sleep(0.5)
    finally:
        consumer.close()


def _assigned(url: str) -> set[int]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    lag = [line for line in text.splitlines() if line.startswith("ghlake_lake_consumer_lag{")]
    return {int(line.split('partition="')[1].split('"')[0]) for line in lag}


def test_two_workers_share_partitions_and_one_is_killed(platform: Platform, tmp_path: Path) -> None:
    hours = ["2019-07-04-20", "2019-07-04-21"]
    config = SynthConfig(events_per_hour=20000, seed=9)
    for name in hours:
        write_hour(Hour.parse(name), tmp_path, config)
    port = _free_port()
    second = worker_spec(platform, name="lake-writer-2", port=port, batch_max_events="3000")
    second_url = f"http://{platform.settings.lake.web_host}:{port}"
    log_one = LogTail(platform.stack.supervisor.log_file(WRITER))
    log_two = LogTail(platform.stack.supervisor.log_file("lake-writer-2"))
    platform.stack.supervisor.start(second)
    try:
        deadline = time.monotonic() + 90
        while True:  # the group has rebalanced: each worker holds part of the partitions
            one, two = _assigned(_lake_url(platform)), _assigned(second_url)
            if (
                one
                and two
                and not one & two
                and len(one | two) == platform.settings.kafka.partitions
            ):
                break
            assert time.monotonic() < deadline, (one, two)
            time.sleep(1)
        [first] = replay(platform, str(tmp_path), [Hour.parse(hours[0])])
        assert first.published == 20000
        log_two.wait_for(_msg("batch stored"), timeout=60)
        log_one.wait_for(_msg("lake file written"), timeout=60)
        platform.stack.supervisor.signal(WRITER, signal.SIGKILL)  # mid-batch
        [more] = replay(platform, str(tmp_path), [Hour.parse(hours[1])])
        assert more.published == 20000

        assert_lake_equals_source(wait_lake_holds(platform, tmp_path, hours, timeout=240))
        list(log_two.new())
        took_over = {
            p for e in log_two.seen if e.get("msg") == "batch stored" for p in e["partitions"]
        }
        assert one <= took_over, "the survivor wrote the killed worker's partitions"
    finally:
        platform.stack.supervisor.stop(platform.stack.service(WRITER).spec())
        platform.stack.supervisor.start(platform.stack.service(WRITER).spec())
        platform.stack.supervisor.stop(second)


def test_a_worker_joining_while_a_batch_is_taken_gets_its_partitions_whole(
    platform: Platform, tmp_path: Path
) -> None:
    hour = "2019-08-08-8"
    write_hour(Hour.parse(hour), tmp_path, SynthConfig(events_per_hour=12000, seed=13))
    # The first worker takes for 20 s after the first event: the second joins meanwhile,
    # and the partitions it gets are revoked from the first in the middle of its batch.
    first = worker_spec(platform, batch_max_events="1000000", batch_max_seconds="20")
    port = _free_port()
    second = worker_spec(platform, name="lake-writer-2", port=port, batch_max_seconds="2")
    log_one = LogTail(platform.stack.supervisor.log_file(WRITER))
    log_two = LogTail(platform.stack.supervisor.log_file("lake-writer-2"))
    platform.stack.supervisor.stop(platform.stack.service(WRITER).spec())
    try:
        platform.stack.supervisor.start(first)
        deadline = time.monotonic() + 60
        while len(_assigned(_lake_url(platform))) < platform.settings.kafka.partitions:
            assert time.monotonic() < deadline, "the first worker never got every partition"
            time.sleep(0.5)
        [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
        assert report.published == 12000
        platform.stack.supervisor.start(second)
        left = log_one.wait_for(
            _msg("records of revoked partitions left to their new owner"), timeout=60
        )
        assert left["records"] > 0, "the revoked partitions' records were in the batch"

        assert_lake_equals_source(wait_lake_holds(platform, tmp_path, [hour]))
        stored_one = log_one.wait_for(_msg("batch stored"), timeout=60)
        assert not set(stored_one["partitions"]) & set(left["partitions"])
        stored_two = log_two.wait_for(_msg("batch stored"), timeout=60)
        assert set(left["partitions"]) <= set(stored_two["partitions"])
    finally:
        platform.stack.supervisor.stop(second)
        platform.stack.supervisor.stop(first)
        platform.stack.supervisor.start(platform.stack.service(WRITER).spec())


def test_a_stall_longer_than_the_poll_interval_keeps_the_partitions_and_a_join_abandons_it(
    platform: Platform, tmp_path: Path
) -> None:
    hour = "2019-09-09-9"
    write_hour(Hour.parse(hour), tmp_path, SynthConfig(events_per_hour=6000, seed=17))
    stall = {"max_stall_seconds": "20", "batch_max_seconds": "2"}
    one = worker_spec(platform, **stall)
    port_two, port_three = _free_port(), _free_port()
    two = worker_spec(platform, name="lake-writer-2", port=port_two, **stall)
    three = worker_spec(platform, name="lake-writer-3", port=port_three, **stall)
    logs = [LogTail(platform.stack.supervisor.log_file(n)) for n in (WRITER, "lake-writer-2")]
    minio = platform.stack.service("minio")
    platform.stack.supervisor.stop(platform.stack.service(WRITER).spec())
    try:
        platform.stack.supervisor.start(one)
        platform.stack.supervisor.start(two)
        deadline = time.monotonic() + 60
        urls = [_lake_url(platform), f"http://{platform.settings.lake.web_host}:{port_two}"]
        while not all(_assigned(url) for url in urls):
            assert time.monotonic() < deadline, "both workers hold partitions"
            time.sleep(0.5)
        for log in logs:
            list(log.new())  # what came before the stall
        platform.stack.supervisor.stop(minio.spec())
        try:
            [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
            assert report.published == 6000
            # 1. Longer than max.poll.interval (20 s) without a batch stored: the workers
            #    answer their group between retries, so nobody loses its partitions.
            time.sleep(30)
            for log in logs:
                gone = [e for e in log.new() if e.get("msg") == "partitions revoked"]
                assert not gone, f"{log.path.name} lost partitions during the stall: {gone}"
            # 2. A third worker joins: the partitions it gets are revoked from stalled
            #    batches, which are abandoned rather than written on by two owners.
            platform.stack.supervisor.start(three)
            deadline = time.monotonic() + 60
            while not any(
                e.get("msg", "").startswith("batch abandoned") for log in logs for e in log.new()
            ):
                assert time.monotonic() < deadline, "no stalled batch was abandoned"
                time.sleep(1)
        finally:
            platform.stack.supervisor.start(minio.spec())
        assert_lake_equals_source(wait_lake_holds(platform, tmp_path, [hour]))
    finally:
        for spec in (three, two, one):
            platform.stack.supervisor.stop(spec)
        platform.stack.supervisor.start(platform.stack.service(WRITER).spec())
