"""Log lines are one JSON object each, whatever the extras hold."""

from __future__ import annotations

import logging

import orjson

from ghlake.hours import Hour
from ghlake.logs import JsonFormatter


def test_extras_with_partition_keys_and_hours_format() -> None:
    record = logging.LogRecord(
        "ghlake.ingest", logging.INFO, __file__, 1, "hour replayed", (), None
    )
    record.offsets = {0: (10, 20), 3: (5, 9)}
    record.hour = Hour.parse("2015-01-01-1")
    entry = orjson.loads(JsonFormatter().format(record))
    assert entry["offsets"] == {"0": [10, 20], "3": [5, 9]}
    assert entry["hour"] == "2015-01-01-1"
