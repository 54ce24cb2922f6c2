"""The lag report as Prometheus metrics, named after kafka_exporter and kafka-lag-exporter.

Read at scrape time from the monitor's latest report (no second sampling loop):

- ``ghlake_consumergroup_lag{group,topic,partition}``: messages behind the log end
- ``ghlake_consumergroup_lag_seconds{group,topic,partition}``: age of the oldest unread record
- ``ghlake_consumergroup_current_offset{group,topic,partition}``: the committed offset
- ``ghlake_consumergroup_status{group,topic}``: 0 OK, 1 WARN, 2 ERR, 3 STOP, 4 STALL, 5 REWIND
- ``ghlake_consumergroup_members{group}``, ``ghlake_consumergroup_group_lag{group,topic}``
- ``ghlake_topic_partition_current_offset{topic,partition}``: the log end
- ``ghlake_lag_monitor_last_sample_timestamp_seconds``, ``ghlake_lag_monitor_up``

A partition without a commit has no ``current_offset`` sample (not -1), and a lag in
seconds that is unknown has no sample (not NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ghlake.lag.monitor import LagReport

__all__ = ["LagCollector"]

_PARTITION = ["group", "topic", "partition"]


class LagCollector(Collector):
    """A collector over ``report()`` (the monitor's latest), registered in a service's registry."""

    def __init__(self, report: Callable[[], LagReport]) -> None:
        self.report = report

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of the latest report."""
        report = self.report()
        lag = GaugeMetricFamily(
            "ghlake_consumergroup_lag", "Messages behind the log end", labels=_PARTITION
        )
        seconds = GaugeMetricFamily(
            "ghlake_consumergroup_lag_seconds",
            "Age of the oldest unconsumed record (0 when caught up)", labels=_PARTITION,
        )  # fmt: skip
        offset = GaugeMetricFamily(
            "ghlake_consumergroup_current_offset", "The group's committed offset", labels=_PARTITION
        )
        status = GaugeMetricFamily(
            "ghlake_consumergroup_status",
            "Burrow status: 0 OK, 1 WARN, 2 ERR, 3 STOP, 4 STALL, 5 REWIND",
            labels=["group", "topic"],
        )  # fmt: skip
        group_lag = GaugeMetricFamily(
            "ghlake_consumergroup_group_lag", "Messages behind, summed over partitions",
            labels=["group", "topic"],
        )  # fmt: skip
        members = GaugeMetricFamily(
            "ghlake_consumergroup_members", "Members of the group", labels=["group"]
        )
        end = GaugeMetricFamily(
            "ghlake_topic_partition_current_offset", "The partition's log end offset",
            labels=["topic", "partition"],
        )  # fmt: skip
        ends: dict[tuple[str, str], int] = {}
        counted: set[str] = set()
        for group in report.groups:
            status.add_metric([group.group, group.topic], group.status.code)
            group_lag.add_metric([group.group, group.topic], group.lag)
            if group.group not in counted:
                members.add_metric([group.group], group.members)
                counted.add(group.group)
            for p in group.partitions:
                labels = [group.group, group.topic, str(p.partition)]
                lag.add_metric(labels, p.lag)
                if p.lag_seconds is not None:
                    seconds.add_metric(labels, p.lag_seconds)
                if p.committed is not None:
                    offset.add_metric(labels, p.committed)
                ends[(group.topic, str(p.partition))] = p.end
        for (topic, partition), value in sorted(ends.items()):
            end.add_metric([topic, partition], value)
        up = GaugeMetricFamily(
            "ghlake_lag_monitor_up", "1 when the last sample of the broker succeeded"
        )
        up.add_metric([], 0 if report.error else 1)
        last = GaugeMetricFamily(
            "ghlake_lag_monitor_last_sample_timestamp_seconds", "When the last sample was taken"
        )
        last.add_metric([], report.at)
        yield from (lag, seconds, offset, status, group_lag, members, end, up, last)
