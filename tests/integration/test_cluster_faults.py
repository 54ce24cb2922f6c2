"""Node failures on the real multi-node services: a 3-broker Kafka cluster, MinIO erasure-coded
over 4 drives, two lake writers and two warehouse consumers, started once for this module.

Each test ends with every stage reconciled: the ledger, the topic (each line of each hour on
it once), the lake (by (id, created_at), through verify) and the warehouse (deduplicated on
identity) hold the same events, nothing missing, nothing duplicated. The timings printed
(time to recover, events delayed) are reported, never asserted.
"""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from ghlake.hours import Hour
from ghlake.ingest.reconcile import HourCounts
from ghlake.ingest.replay import Replayer
from ghlake.kafka.producer import DeliveryError, EventPublisher
from ghlake.kafka.readback import end_offsets, header_map
from ghlake.lake.verify import verify_hour
from ghlake.platform import Platform
from ghlake.services.kafka_broker import broker_spec, node_name
from ghlake.services.minio_server import minio_drive_dirs
from ghlake.settings import Settings
from ghlake.sources.archive import open_archive
from ghlake.synth import SynthConfig, write_hour
from tests.conftest import replay, wait_for
from tests.integration.test_faults import _assigned, assert_lake_equals_source, wait_lake_holds

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 3000  # per generated hour: small, so the module stays within a few minutes
SPEED = 300.0  # a replayed hour takes 12 s, so a fault lands while it runs


def _free_block(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """3 KRaft nodes, MinIO on 4 drives, 2 lake writers, 2 warehouse consumers; own ports."""
    # One block for every port of the stack: ports probed one by one can come back from
    # the OS twice (a probe releases its port), and two services would then collide.
    base = _free_block(13)
    kafka = base  # node n: kafka + 2(n-1), its controller one above
    lake = base + 6  # writer n: lake + n - 1
    single = list(range(base + 8, base + 13))
    env = {
        "GHLAKE_HOME": str(tmp_path_factory.mktemp("ghlake-cluster")),
        "GHLAKE_KAFKA__BROKERS": "3",
        "GHLAKE_KAFKA__PORT": str(kafka),
        "GHLAKE_KAFKA__CONTROLLER_PORT": str(kafka + 1),
        "GHLAKE_KAFKA__PARTITIONS": "3",
        "GHLAKE_KAFKA__HEAP": "384m",
        "GHLAKE_MINIO__DRIVES": "4",
        "GHLAKE_MINIO__PORT": str(single[0]),
        "GHLAKE_MINIO__CONSOLE_PORT": str(single[1]),
        "GHLAKE_WAREHOUSE__PORT": str(single[2]),
        "GHLAKE_WAREHOUSE__HTTP_PORT": str(single[3]),
        "GHLAKE_WAREHOUSE__CONSUMERS": "2",
        "GHLAKE_API__PORT": str(single[4]),
        "GHLAKE_LAKE__WRITERS": "2",
        "GHLAKE_LAKE__WEB_PORT": str(lake),
        "GHLAKE_LAKE__BATCH_MAX_SECONDS": "2",
        "GHLAKE_PROMETHEUS__ENABLED": "false",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)  # the stack's processes inherit them
        platform = Platform(Settings())
        try:
            started = time.monotonic()
            platform.stack.up()
            print(f"\ncluster stack up in {time.monotonic() - started:.0f}s")
            yield platform
        finally:
            platform.stack.down()
            platform.close()


def _topic_lines(platform: Platform, hours: list[str]) -> dict[str, Counter[str]]:
    """Per hour, how many times each line (``line.part``) of the hour is on the events topic."""
    kafka = platform.settings.kafka
    ends = end_offsets(kafka.bootstrap, kafka.topic)
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap,
            "group.id": "ghlake-test-cluster-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    counts: dict[str, Counter[str]] = {hour: Counter() for hour in hours}
    try:
        left = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(kafka.topic, p, 0) for p in left])
        while left:
            message = consumer.poll(30)
            assert message is not None, f"reading the topic back timed out; {left} left"
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                left.discard(message.partition())
                continue
            headers = header_map(message)
            hour = headers.get("hour", b"").decode()
            if hour in counts:
                line = f"{headers['line'].decode()}.{headers.get('part', b'0').decode()}"
                counts[hour][line] += 1
        return counts
    finally:
        consumer.close()


def assert_every_stage_reconciled(
    platform: Platform, source: Path, hours: list[str], timeout: float = 240
) -> list[HourCounts]:
    """Ledger == Kafka == lake == warehouse for ``hours``, by identity: 0 missing, 0 duplicated."""
    ledger = {h: platform.ledger.hour(Hour.parse(h)) for h in hours}
    published = {h: r.published for h, r in ledger.items() if r is not None}
    assert published == dict.fromkeys(hours, EVENTS), ledger
    last: list[HourCounts] = []

    def reconciled() -> bool:
        last[:] = platform.reconciler.counts(published)
        return all(c.reconciled for c in last)

    wait_for(reconciled, timeout=timeout, explain=lambda: last)
    for hour, lines in _topic_lines(platform, hours).items():
        assert len(lines) == EVENTS, f"{hour}: {len(lines)} distinct lines on the topic"
        assert set(lines.values()) == {1}, f"{hour}: a line is on the topic more than once"
    assert_lake_equals_source(wait_lake_holds(platform, source, hours, timeout=60))
    return last


def _in_flight(platform: Platform, hours: list[str]) -> int:
    """Events published of ``hours`` that the lake or the warehouse does not hold yet."""
    counts = platform.reconciler.counts(
        {h: r.published for h in hours if (r := platform.ledger.hour(Hour.parse(h)))}
    )
    return sum(c.published - min(c.lake, c.warehouse) for c in counts)


def _spread(platform: Platform) -> dict[str, list[set[int]]]:
    """The partitions each lake writer and each warehouse consumer holds now."""
    lake = platform.settings.lake
    writers = [_assigned(lake.writer_url(n)) for n in range(1, lake.writers + 1)]
    rows = platform.warehouse.named("kafka_consumers")
    consumers = [
        {int(p) for p, topic in zip(r["partitions"], r["topics"], strict=True)
         if topic == platform.settings.kafka.topic}
        for r in rows if r["table"] == "events_queue"
    ]  # fmt: skip
    return {"lake writers": writers, "warehouse consumers": consumers}


def test_the_partitions_are_spread_over_every_writer_and_consumer(cluster: Platform) -> None:
    partitions = set(range(cluster.settings.kafka.partitions))
    seen: dict[str, list[set[int]]] = {}

    def spread() -> bool:
        seen.update(_spread(cluster))
        return all(
            len(held) == 2 and all(held) and set().union(*held) == partitions
            and sum(map(len, held)) == len(partitions)
            for held in seen.values()
        )  # fmt: skip

    wait_for(spread, timeout=60, explain=lambda: seen)


def test_a_broker_killed_then_a_second_stopped_loses_no_acknowledged_event(
    cluster: Platform, tmp_path: Path
) -> None:
    platform, kafka = cluster, cluster.settings.kafka
    hours = ["2019-10-01-0", "2019-10-01-1", "2019-10-01-2"]
    for seed, name in enumerate(hours):
        write_hour(Hour.parse(name), tmp_path, SynthConfig(events_per_hour=EVENTS, seed=40 + seed))
    supervisor = platform.stack.supervisor
    second, third = broker_spec(platform.settings, 2), broker_spec(platform.settings, 3)

    # 1. kill -9 one broker while a replay, the lake writers and the warehouse run: with
    #    three replicas and min.insync.replicas=2, every write is still acknowledged.
    reports: list[object] = []
    replaying = threading.Thread(
        target=lambda: reports.extend(
            replay(platform, str(tmp_path), [Hour.parse(hours[0])], speed=SPEED)
        )
    )
    replaying.start()
    wait_for(lambda: sum(end_offsets(kafka.bootstrap, kafka.topic).values()) >= EVENTS // 4, 60)
    supervisor.signal(node_name(2), signal.SIGKILL)
    killed = time.monotonic()
    replaying.join(timeout=120)
    assert not replaying.is_alive(), "the replay hangs with one broker of three dead"
    [first] = reports
    assert first.status.ok, first  # type: ignore[attr-defined]
    assert first.published == EVENTS, first  # type: ignore[attr-defined]
    [second_report] = replay(platform, str(tmp_path), [Hour.parse(hours[1])])
    assert second_report.status.ok, second_report
    assert second_report.published == EVENTS, second_report
    delayed_one = _in_flight(platform, hours[:2])
    assert_every_stage_reconciled(platform, tmp_path, hours[:2])
    one_down = time.monotonic() - killed

    # 2. A second broker stops: one of three is left, below min.insync.replicas, so an
    #    acks=all write is refused, and the replay says so (after the delivery timeout
    #    this test shortens from the default five minutes).
    supervisor.stop(third)
    publisher = EventPublisher(kafka, {"delivery.timeout.ms": 10_000, "request.timeout.ms": 5_000})
    refused = Replayer(publisher, platform.ledger, platform.fetcher(str(tmp_path)), kafka)
    with refused, pytest.raises(DeliveryError) as failed:
        refused.run([Hour.parse(hours[2])])
    print(f"\nwith 1 of 3 brokers the replay failed clearly: {failed.value}")
    assert "deliveries failed" in str(failed.value)
    assert "fewer in-sync replicas than min.insync.replicas" in str(failed.value)

    # 3. Both come back; the interrupted hour resumes (what was acknowledged is not sent
    #    again) and every stage catches up.
    restarted = time.monotonic()
    supervisor.stop(second)  # reaps the killed process
    with ThreadPoolExecutor(2) as pool:  # either alone restores the quorum; both at once
        list(pool.map(supervisor.start, [second, third]))
    [resumed] = replay(platform, str(tmp_path), [Hour.parse(hours[2])])
    assert resumed.status.ok, resumed
    delayed_two = _in_flight(platform, hours)
    counts = assert_every_stage_reconciled(platform, tmp_path, hours)
    recovered = time.monotonic() - restarted
    print(
        f"one broker killed: reconciled {one_down:.1f}s after the kill, {delayed_one} events "
        f"delayed then; two down then restarted: reconciled {recovered:.1f}s after the "
        f"restart, {delayed_two} events delayed; {counts}"
    )


def _objects(drive: Path, bucket: str) -> int:
    """Objects of ``bucket`` on one drive (each object's folder holds an ``xl.meta``)."""
    return sum(1 for _ in (drive / bucket).rglob("xl.meta")) if (drive / bucket).is_dir() else 0


def test_a_wiped_minio_drive_is_healed_while_the_lake_stays_readable(
    cluster: Platform, tmp_path: Path
) -> None:
    platform = cluster
    hours = ["2019-11-02-0", "2019-11-02-1"]
    for seed, name in enumerate(hours):
        write_hour(Hour.parse(name), tmp_path, SynthConfig(events_per_hour=EVENTS, seed=60 + seed))
    [before] = replay(platform, str(tmp_path), [Hour.parse(hours[0])])
    assert before.published == EVENTS
    assert_lake_equals_source(wait_lake_holds(platform, tmp_path, hours[:1]))

    # A reader reads the first hour's rows from the lake all along.
    archive, stop = open_archive(tmp_path), threading.Event()
    reads: list[bool] = []
    errors: list[str] = []

    def read_loop() -> None:
        while not stop.is_set():
            try:
                result = verify_hour(
                    platform.lake_table, platform.store, archive, Hour.parse(hours[0])
                )
                reads.append(result.ok)
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(repr(exc))
            stop.wait(0.5)

    reader = threading.Thread(target=read_loop)
    reader.start()
    bucket = platform.settings.minio.bucket
    drives = minio_drive_dirs(platform.settings)
    wiped = drives[1]
    try:
        # The second drive loses everything while the lake writers take the next hour.
        replaying = threading.Thread(
            target=replay, args=(platform, str(tmp_path), [Hour.parse(hours[1])])
        )
        kafka = platform.settings.kafka
        sent = sum(end_offsets(kafka.bootstrap, kafka.topic).values())
        replaying.start()
        wait_for(
            lambda: sum(end_offsets(kafka.bootstrap, kafka.topic).values()) - sent >= EVENTS // 4,
            timeout=60,
        )
        for child in wiped.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        lost = time.monotonic()
        replaying.join(timeout=120)
        assert not replaying.is_alive()
        assert_lake_equals_source(wait_lake_holds(platform, tmp_path, hours))
        # MinIO finds the blank drive (every 10 s), formats it and heals every object onto it.
        wait_for(
            lambda: _objects(wiped, bucket) >= _objects(drives[0], bucket) > 0,
            timeout=150,
            explain=lambda: f"{_objects(wiped, bucket)} of {_objects(drives[0], bucket)} healed",
        )
        healed = time.monotonic() - lost
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not errors, errors[:3]
    assert reads, "the reader never finished a read"
    assert all(reads), f"{reads.count(False)} of {len(reads)} reads differed"
    assert_lake_equals_source(wait_lake_holds(platform, tmp_path, hours))
    print(f"\nwiped drive healed {healed:.1f}s after the wipe; {len(reads)} reads, 0 failed")
