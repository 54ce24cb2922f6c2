"""The monitor over a scripted broker: windows, lag in seconds, inactive groups, the JSON."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from ghlake.lag.broker import BrokerView, GroupView, TopicPart
from ghlake.lag.evaluator import Sample, Window
from ghlake.lag.metrics import LagCollector
from ghlake.lag.monitor import LagMonitor, interpolated_age

TOPIC = "events"


class ScriptedBroker:
    """Serves the views a test sets; record timestamps from a dict (missing: not readable)."""

    def __init__(self) -> None:
        self.view = BrokerView(0, (), {})
        self.stamps: dict[tuple[str, int, int], float] = {}

    def read(self, now: float | None = None) -> BrokerView:
        return BrokerView(now or 0, self.view.groups, self.view.logs)

    def record_timestamps(self, positions: Mapping[TopicPart, int]) -> dict[TopicPart, float]:
        return {tp: self.stamps[(*tp, o)] for tp, o in positions.items() if (*tp, o) in self.stamps}

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def broker() -> ScriptedBroker:
    return ScriptedBroker()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def set_view(broker: ScriptedBroker, committed: dict[str, dict[int, int | None]],
             ends: dict[int, int], members: int = 1) -> None:  # fmt: skip
    groups = tuple(
        GroupView(name, "Stable" if members else "Empty", members,
                  {(TOPIC, p): c for p, c in parts.items()})
        for name, parts in committed.items()
    )  # fmt: skip
    broker.view = BrokerView(0, groups, {(TOPIC, p): (0, e) for p, e in ends.items()})


def test_lag_seconds_come_from_the_record_at_the_committed_offset(
    broker: ScriptedBroker, clock: Clock
) -> None:
    monitor = LagMonitor(broker, Window(3, 30), clock=clock)
    set_view(broker, {"writer": {0: 5, 1: 7}}, {0: 10, 1: 7})
    broker.stamps[(TOPIC, 0, 5)] = clock.now - 42
    report = monitor.sample()
    (group,) = report.groups
    first, second = group.partitions
    assert (first.lag, first.lag_seconds, first.lag_seconds_method) == (5, 42, "record")
    assert (second.lag, second.lag_seconds, second.lag_seconds_method) == (0, 0, None)
    assert (group.lag, group.lag_seconds, group.status.value) == (5, 42, "OK")


def test_lag_seconds_are_interpolated_when_the_record_cannot_be_read(
    broker: ScriptedBroker, clock: Clock
) -> None:
    monitor = LagMonitor(broker, Window(3, 30), clock=clock)
    set_view(broker, {"writer": {0: 10}}, {0: 10})
    monitor.sample()
    clock.now += 10
    set_view(broker, {"writer": {0: 10}}, {0: 30})  # 20 records arrived over 10 s
    (group,) = monitor.sample().groups
    (partition,) = group.partitions
    assert partition.lag_seconds_method == "interpolated"
    assert partition.lag_seconds == pytest.approx(9.5)  # the first of them, 0.5 s in


def test_unknown_lag_seconds_are_none_not_nan(broker: ScriptedBroker, clock: Clock) -> None:
    monitor = LagMonitor(broker, Window(3, 30), clock=clock)
    set_view(broker, {"writer": {0: 0}}, {0: 50})  # behind from the first sample
    (group,) = monitor.sample().groups
    assert group.partitions[0].lag_seconds is None
    assert group.as_json()["lag_seconds"] is None


def test_a_partition_without_a_commit_is_shown_as_such(
    broker: ScriptedBroker, clock: Clock
) -> None:
    monitor = LagMonitor(broker, Window(3, 30), clock=clock)
    set_view(broker, {"spark": {0: 4, 1: None}}, {0: 4, 1: 9})
    body = monitor.sample().as_json()
    partitions = body["groups"][0]["partitions"]  # type: ignore[index]
    assert partitions[1]["committed"] is None
    assert partitions[1]["lag"] == 9


def test_a_stopped_group_goes_warn_then_stop_while_another_stays_ok(
    broker: ScriptedBroker, clock: Clock
) -> None:
    monitor = LagMonitor(broker, Window(3, 12), clock=clock)
    seen: dict[str, list[str]] = {"writer": [], "warehouse": []}
    for step in range(8):
        end = 100 + 10 * step
        groups = {"writer": {0: 100}, "warehouse": {0: end}}
        set_view(broker, groups, {0: end}, members=0)
        for group in monitor.sample().groups:
            seen[group.group].append(group.status.value)
        clock.now += 3
    assert seen["warehouse"] == ["OK"] * 8
    assert seen["writer"][0] == "OK"
    assert "WARN" in seen["writer"]
    assert seen["writer"][-1] == "STOP"
    assert seen["writer"].index("WARN") < seen["writer"].index("STOP")


def test_an_inactive_group_stays_listed_until_the_limit(
    broker: ScriptedBroker, clock: Clock
) -> None:
    monitor = LagMonitor(broker, Window(3, 30), inactive_after=60, clock=clock)
    set_view(broker, {"old": {0: 5}}, {0: 5}, members=0)
    (group,) = monitor.sample().groups
    assert not group.active
    clock.now += 59
    assert monitor.sample().group("old")
    clock.now += 2
    assert monitor.sample().groups == ()


def test_a_failed_sample_keeps_the_last_groups_and_says_why(
    broker: ScriptedBroker, clock: Clock
) -> None:
    from ghlake.lag.broker import BrokerUnavailableError  # noqa: PLC0415

    monitor = LagMonitor(broker, Window(3, 30), clock=clock)
    set_view(broker, {"writer": {0: 5}}, {0: 5})
    monitor.sample()

    def down(now: float | None = None) -> BrokerView:
        raise BrokerUnavailableError("broker down")

    broker.read = down  # type: ignore[method-assign]
    report = monitor.sample()
    assert report.error == "broker down"
    assert report.group("writer")


def test_the_metrics_leave_unknowns_out(broker: ScriptedBroker, clock: Clock) -> None:
    from prometheus_client import CollectorRegistry, generate_latest  # noqa: PLC0415

    monitor = LagMonitor(broker, Window(3, 30), clock=clock)
    set_view(broker, {"spark": {0: None, 1: 3}}, {0: 9, 1: 3})
    monitor.sample()
    registry = CollectorRegistry()
    registry.register(LagCollector(lambda: monitor.report))
    text = generate_latest(registry).decode()
    assert 'ghlake_consumergroup_lag{group="spark",partition="0",topic="events"} 9.0' in text
    assert 'ghlake_consumergroup_current_offset{group="spark",partition="1",topic="events"}' in text
    assert 'current_offset{group="spark",partition="0"' not in text
    assert "NaN" not in text
    assert 'ghlake_consumergroup_status{group="spark",topic="events"} 0.0' in text


def test_interpolation_needs_a_sample_before_the_record() -> None:
    history = [Sample(0, None, 10), Sample(10, None, 20)]
    assert interpolated_age(history, 5, now=10) is None
    assert interpolated_age(history, 10, now=20) == pytest.approx(19.0)  # written at 1 s
