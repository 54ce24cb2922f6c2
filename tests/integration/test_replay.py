"""Replays of crafted, damaged hours through the real broker, with the ledger.

Hours here are in 2016 (other test modules own other years).
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from ghlake.hours import Hour, hour_range
from ghlake.kafka.readback import end_offsets, header_map
from ghlake.platform import Platform
from ghlake.synth import SynthConfig, generate_hour, write_hour
from tests.conftest import replay

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _lines(hour: str, n: int, seed: int = 1) -> list[bytes]:
    lines = []
    for line in generate_hour(Hour.parse(hour), SynthConfig(events_per_hour=n, seed=seed)):
        lines.append(line)
    return lines


def _write(folder: Path, hour: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{hour}.json.gz").write_bytes(data)


def _messages(platform: Platform, topic: str, hour: str) -> list[tuple[bytes, dict[str, bytes]]]:
    """Every message of ``hour`` on ``topic``, read plainly from the beginning."""
    consumer = Consumer({
        "bootstrap.servers": platform.settings.kafka.bootstrap, "group.id": f"test-{time.time()}",
        "enable.auto.commit": False, "enable.partition.eof": True,
    })  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        left, out = set(partitions), []
        while left:
            message = consumer.poll(10)
            assert message is not None, "timed out reading the topic"
            if message.error() is not None:
                left.discard(message.partition())
                continue
            headers = header_map(message)
            if headers.get("hour") == hour.encode():
                out.append((message.value() or b"", headers))
        return out
    finally:
        consumer.close()


def test_every_defect_in_one_hour(platform: Platform, tmp_path: Path) -> None:
    hour = "2016-02-01-3"
    good = _lines(hour, 50)
    merged = good[10][:80] + good[11]  # an unterminated string swallowed the next event
    lines = [
        good[0], b"\x00" * 512, b"\x00\x00" + good[1], good[2], b'{"id":"9","type":',
        merged, good[3], good[2], b'{"unknown":"shape"}', b"", *good[12:],
    ]  # fmt: skip
    _write(tmp_path, hour, gzip.compress(b"\n".join(lines) + b"\n"))

    [report] = replay(platform, str(tmp_path), [Hour.parse(hour)])
    assert report.status == "published"
    assert report.lines == len(lines)
    # NUL block, broken JSON, merged prefix, duplicate, unknown shape, empty line.
    assert report.dead_lettered == 6
    assert report.duplicates == 1
    assert report.recovered == 1
    assert report.published + report.dead_lettered - report.recovered == report.lines

    events = _messages(platform, platform.settings.kafka.topic, hour)
    letters = _messages(platform, platform.settings.kafka.dead_letter_topic, hour)
    assert len(events) == report.published
    assert len(letters) == report.dead_lettered
    assert good[11] in {value for value, _ in events}, "the event after the break is recovered"
    reasons = Counter(h["reason"].decode().split(" (")[0].split(":")[0] for _, h in letters)
    assert reasons["NUL padding"] == 1
    assert reasons["duplicate of line 4"] == 1
    assert reasons["empty line"] == 1
    for _, headers in letters:
        assert headers["hour"] == hour.encode()
        assert int(headers["line"]) >= 1

    record = platform.ledger.hour(hour)
    assert record is not None
    assert (record.status, record.lines, record.dead_lettered) == ("published", len(lines), 6)
    assert record.sha256 == report.sha256
    assert len(record.sha256) == 64
    assert sum(last - first + 1 for first, last in record.offsets.values()) >= report.published
    [counts] = platform.reconciler.wait({hour: report.published}, timeout=120)
    assert counts.reconciled


def test_damaged_files_and_missing_hours_do_not_stop_the_range(
    platform: Platform, tmp_path: Path
) -> None:
    first, xml, truncated, missing = (Hour.parse(f"2016-08-20-{h}") for h in range(4))
    _write(tmp_path, first.name, gzip.compress(b"\n".join(_lines(first.name, 20)) + b"\n"))
    _write(
        tmp_path,
        xml.name,
        b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code></Error>",
    )
    body = gzip.compress(b"\n".join(_lines(truncated.name, 3000)) + b"\n")
    _write(tmp_path, truncated.name, body[: len(body) // 2])

    reports = {r.hour: r for r in replay(platform, str(tmp_path), list(hour_range(first, missing)))}
    assert reports[first.name].status == "published"
    assert (reports[xml.name].status, reports[xml.name].lines) == ("corrupt", 0)
    assert "corrupt gzip" in (reports[xml.name].error or "")
    assert reports[truncated.name].status == "partial"
    assert 0 < reports[truncated.name].lines < 3000
    assert reports[missing.name].status == "missing"
    ledger = {r.hour: r.status for r in platform.ledger.hours(first, missing)}
    assert ledger == {first.name: "published", xml.name: "corrupt",
                      truncated.name: "partial", missing.name: "missing"}  # fmt: skip


def test_published_hours_are_skipped_unless_forced(platform: Platform, tmp_path: Path) -> None:
    hour = Hour.parse("2016-03-01-0")
    write_hour(hour, tmp_path, SynthConfig(events_per_hour=200, seed=3))
    [first] = replay(platform, str(tmp_path), [hour])
    [again] = replay(platform, str(tmp_path), [hour])
    assert (first.status, again.status) == ("published", "skipped")
    assert len(_messages(platform, platform.settings.kafka.topic, hour.name)) == 200
    [forced] = replay(platform, str(tmp_path), [hour], force=True)
    assert forced.status == "published"
    assert len(_messages(platform, platform.settings.kafka.topic, hour.name)) == 400
    record = platform.ledger.hour(hour.name)
    assert record is not None
    assert record.attempts == 2


def test_kill_9_mid_range_then_resume_publishes_each_line_once(
    platform: Platform, tmp_path: Path
) -> None:
    """Killed in a range's second hour, while the first hour's last batches may be unanswered."""
    hours = list(hour_range(Hour.parse("2016-05-05-5"), Hour.parse("2016-05-05-7")))
    events = {
        hour.name: write_hour(hour, tmp_path, SynthConfig(events_per_hour=40_000, seed=5)).events
        for hour in hours
    }
    topic = platform.settings.kafka.topic
    before = end_offsets(platform.settings.kafka.bootstrap, topic)
    argv = [sys.executable, "-m", "ghlake.cli.main", "replay", "--source", str(tmp_path),
            "--from", hours[0].name, "--to", hours[-1].name]  # fmt: skip
    process = subprocess.Popen(argv, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "the replay ended before it could be killed"
            assert time.monotonic() < deadline
            record = platform.ledger.hour(hours[1].name)
            if record is not None and record.status == "publishing":
                now = end_offsets(platform.settings.kafka.bootstrap, topic)
                if sum(now.values()) - sum(before.values()) > 55_000:
                    break
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    record = platform.ledger.hour(hours[1].name)
    assert record is not None
    assert record.status == "publishing", "the killed attempt left the hour unfinished"
    assert platform.ledger.hour(hours[2].name) is None, "the third hour had not begun"

    reports = replay(platform, str(tmp_path), hours)
    # The first hour was recorded as soon as it was answered, or is resumed now.
    assert [r.status for r in reports][1:] == ["published"] * 2
    assert reports[0].status in {"skipped", "published"}
    assert all(r.lines == r.published == events[r.hour.name] for r in reports)
    assert reports[1].resent_skipped > 10_000, "what the killed attempt delivered is not resent"

    for hour in hours:
        lines = Counter(int(h["line"]) for _, h in _messages(platform, topic, hour.name))
        assert len(lines) == events[hour.name], f"{hour}: every line of the hour is on the topic"
        assert max(lines.values()) == 1, f"{hour}: and none twice"
    counts = platform.reconciler.wait(events, timeout=180)
    assert all(c.reconciled for c in counts)
