"""Burrow's rules, without Burrow's mistakes: each status from a window of samples."""

from __future__ import annotations

import pytest

from ghlake.lag.evaluator import (
    Sample,
    Status,
    Window,
    catch_up_seconds,
    group_status,
    partition_status,
)

WINDOW = Window(size=5, stop_after=30)


def samples(*points: tuple[int | None, int], every: float = 5, start: int = 0) -> list[Sample]:
    """(committed, end) pairs, one sample ``every`` seconds."""
    return [Sample(i * every, c, e, start) for i, (c, e) in enumerate(points)]


def status(points: list[Sample], members: int = 1) -> Status:
    return partition_status(points, WINDOW, members=members)


def test_a_caught_up_partition_is_ok() -> None:
    assert status(samples((10, 10), (20, 20), (30, 30))) is Status.OK


def test_a_consumer_keeping_up_with_a_small_steady_lag_is_ok() -> None:
    # Burrow calls a lag that "stays the same" over the window WARN; a steady lag is fine.
    assert status(samples(*[(i * 10, i * 10 + 3) for i in range(6)])) is Status.OK


def test_a_lag_growing_over_the_whole_window_warns() -> None:
    points = samples((0, 10), (5, 20), (10, 30), (15, 40), (20, 50))
    assert status(points) is Status.WARN


def test_a_growing_lag_needs_a_full_window_to_warn() -> None:
    assert status(samples((0, 10), (5, 20), (10, 30))) is Status.OK


def test_a_lag_that_fell_once_in_the_window_does_not_warn() -> None:
    points = samples((0, 10), (5, 20), (18, 25), (20, 35), (25, 45))
    assert status(points) is Status.OK


def test_an_unmoved_offset_with_lag_and_no_member_is_stop_after_the_limit() -> None:
    still = samples(*[(100, 100 + 10 * i) for i in range(1, 9)], every=5)  # 35 s still
    assert status(still, members=0) is Status.STOP


def test_an_unmoved_offset_with_lag_warns_before_the_limit_then_stops() -> None:
    # A stopped writer: the log grows, the commit does not; WARN, and STOP after 30 s.
    points = samples(*[(100, 100 + 10 * i) for i in range(1, 7)], every=5)  # 25 s still
    assert status(points, members=0) is Status.WARN
    points.append(Sample(points[-1].at + 5, 100, 200))
    assert status(points, members=0) is Status.STOP


def test_an_unmoved_offset_with_lag_and_members_is_stall() -> None:
    still = samples(*[(100, 150) for _ in range(8)], every=5)
    assert status(still, members=2) is Status.STALL


def test_a_slow_partition_is_not_stop() -> None:
    # Burrow's mistake: a partition with one commit a minute and a window of a few seconds'
    # worth of commits is called STOP (time since the last commit > the window's span).
    # Here: the offset moved within the limit, so it is fine.
    points = [Sample(0, 10, 11), Sample(20, 11, 12), Sample(40, 12, 13), Sample(45, 12, 13)]
    assert status(points, members=0) is Status.OK


def test_an_idle_partition_without_lag_is_ok_however_long_it_is_still() -> None:
    assert status(samples(*[(50, 50) for _ in range(20)], every=30), members=0) is Status.OK


def test_an_idle_partition_that_just_received_a_message_is_not_stop() -> None:
    # Still for minutes at zero lag, then one message arrives: the still run had no lag.
    points = [*samples(*[(50, 50) for _ in range(10)], every=30), Sample(301, 50, 51)]
    assert status(points, members=0) is Status.OK


def test_a_rewind_is_reported() -> None:
    assert status(samples((50, 60), (55, 60), (10, 60))) is Status.REWIND


def test_a_rewind_after_zero_lag_is_not_missed() -> None:
    # Burrow's mistake: "any sample with zero lag means OK" runs first and hides the rewind.
    points = samples((60, 60), (60, 60), (0, 60), (5, 60))
    assert status(points) is Status.REWIND


def test_a_partition_without_a_commit_counts_its_lag_from_the_log_start() -> None:
    sample = Sample(0, None, 120, start=20)
    assert sample.lag == 100
    assert sample.position == 20


def test_a_partition_without_a_commit_and_an_empty_log_is_ok() -> None:
    assert status(samples((None, 0), (None, 0), (None, 0))) is Status.OK


def test_a_partition_without_a_commit_nobody_reads_is_stop() -> None:
    points = samples(*[(None, 40) for _ in range(8)], every=5)
    assert status(points, members=0) is Status.STOP


def test_lag_is_never_negative() -> None:
    # A commit read a moment after the end (two requests) must not make a negative lag.
    assert Sample(0, 105, 100).lag == 0


def test_no_samples_is_ok() -> None:
    assert status([]) is Status.OK


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Status.OK),
        ([Status.OK, Status.OK], Status.OK),
        ([Status.OK, Status.WARN], Status.WARN),
        ([Status.WARN, Status.STOP, Status.STOP], Status.STOP),
        ([Status.OK, Status.REWIND], Status.REWIND),
        ([Status.STALL, Status.STOP], Status.ERR),
    ],
)
def test_a_group_takes_its_worst_partition(statuses: list[Status], expected: Status) -> None:
    assert group_status(statuses) is expected


def test_status_codes_order_severity() -> None:
    assert [s.code for s in Status] == [0, 1, 2, 3, 4, 5]
    assert not Status.WARN.failing
    assert Status.STOP.failing


def test_catch_up_from_the_window_rates() -> None:
    # Consuming 20/s while 10/s arrive: a lag of 100 is gone in 10 s.
    points = [Sample(0, 0, 200), Sample(10, 200, 300)]
    assert catch_up_seconds(points) == pytest.approx(10.0)


def test_catch_up_is_none_when_not_gaining() -> None:
    assert catch_up_seconds([Sample(0, 0, 100), Sample(10, 50, 200)]) is None
    assert catch_up_seconds([Sample(0, 0, 100)]) is None


def test_catch_up_is_zero_when_caught_up() -> None:
    assert catch_up_seconds([Sample(0, 5, 5)]) == 0.0


def test_a_window_is_at_least_three_samples() -> None:
    with pytest.raises(ValueError, match="3 samples"):
        Window(size=2)
