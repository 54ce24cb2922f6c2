from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ghlake.errors import InvalidInputError
from ghlake.hours import Hour, hour_range


def test_names_follow_gharchive_without_zero_padding() -> None:
    hour = Hour.parse("2015-01-01-1")
    assert hour.start == datetime(2015, 1, 1, 1, tzinfo=UTC)
    assert hour.name == "2015-01-01-1"
    assert hour.filename == "2015-01-01-1.json.gz"
    assert Hour.parse("2024-01-15-00").name == "2024-01-15-0"


@pytest.mark.parametrize("text", ["2015-01-01", "2015-01-01-24", "2015-13-01-0", "yesterday", ""])
def test_malformed_hours_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(InvalidInputError, match="not"):
        Hour.parse(text)


def test_range_is_inclusive_and_crosses_days() -> None:
    hours = [h.name for h in hour_range(Hour.parse("2015-01-01-22"), Hour.parse("2015-01-02-1"))]
    assert hours == ["2015-01-01-22", "2015-01-01-23", "2015-01-02-0", "2015-01-02-1"]


def test_reversed_range_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="reversed"):
        list(hour_range(Hour.parse("2015-01-02-0"), Hour.parse("2015-01-01-0")))


def test_containing_converts_to_utc() -> None:
    moment = datetime.fromisoformat("2012-06-14T15:01:39-07:00")
    assert Hour.containing(moment).name == "2012-06-14-22"


def test_an_hour_equals_its_name_and_orders_by_time() -> None:
    one, ten = Hour.parse("2015-01-01-1"), Hour.parse("2015-01-01-10")
    assert one == "2015-01-01-1"
    assert "2015-01-01-1" == one  # noqa: SIM300 - the reflected comparison is the point
    assert one != "2015-01-01-01", "equal to GH Archive's spelling only"
    assert {one: 7}["2015-01-01-1"] == 7
    assert {"2015-01-01-1": 7}[one] == 7
    assert sorted([ten, one]) == [one, ten], "by time, not by name"
    assert one != 1
    assert one != Hour.parse("2015-01-01-2")


def test_parsing_an_hour_returns_it() -> None:
    hour = Hour.parse("2015-01-01-1")
    assert Hour.parse(hour) is hour
