"""Topic replays without a broker: the retention rule, the request, and the warehouse's range
replacement on a real chDB (the statements the replay sends through the ClickHouse interface,
run here on the engine itself)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from ghlake.errors import InvalidInputError
from ghlake.ingest.topic_replay import TopicReplayRequest
from ghlake.kafka.ranges import TopicRange, available_since
from ghlake.settings import Settings
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.migrations import migrate
from ghlake.warehouse.topic_rebuild import TopicRangeRebuild, range_condition

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_only_partitions_retention_has_cut_decide_where_the_topic_is_whole() -> None:
    assert available_since({0: (0, T0), 1: (0, None)}) is None, "nothing was ever deleted"
    later = T0 + timedelta(hours=5)
    assert available_since({0: (0, T0), 1: (40, later), 2: (9, T0), 3: (7, None)}) == later


def test_a_request_names_a_store_and_a_range_in_utc() -> None:
    naive = TopicReplayRequest("both", datetime(2026, 11, 1), datetime(2026, 11, 2))
    assert naive.from_time == T0
    assert (naive.lake, naive.warehouse) == (True, True)
    with pytest.raises(InvalidInputError, match="is empty"):
        TopicReplayRequest("lake", T0, T0)
    with pytest.raises(InvalidInputError, match="not one of lake, warehouse, both"):
        TopicReplayRequest("s3", T0, T0 + timedelta(1))


def test_a_range_counts_its_messages_per_partition() -> None:
    span = TopicRange("t", T0, T0, {0: 3, 1: 7, 2: 4}, {0: 10, 1: 7, 2: 6})
    assert (span.messages, span.spans()) == (9, {0: (3, 10), 2: (4, 6)})
    condition = range_condition(span.spans(), "p", "o")
    assert condition == "(p = 0 AND o >= 3 AND o < 10) OR (p = 2 AND o >= 4 AND o < 6)"
    assert range_condition({}, "p", "o") == "0"


class _Engine:
    """The admin client's two calls, on the engine itself."""

    def __init__(self, engine: ChdbEngine) -> None:
        self.engine = engine

    def statement(self, sql: str, params: Any = None, settings: Any = None) -> None:
        self.engine.rows(sql, params)

    def select(self, sql: str, params: Any = None, what: str = "") -> list[dict[str, Any]]:
        return self.engine.rows(sql, params)

    def close(self) -> None:
        pass


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[tuple[ChdbEngine, Settings]]:
    settings = Settings(home=tmp_path)
    engine = ChdbEngine(tmp_path / "chdb")
    migrate(engine, settings, with_pipeline=False)
    yield engine, settings
    engine.close()


def _message(number: int, kind: str) -> tuple[bytes, Mapping[str, bytes | None]]:
    event = {"id": str(7_700_000 + number), "type": kind, "actor": {"id": 5, "login": f"a{number}"},
             "repo": {"id": 9, "name": "o/r"}, "created_at": f"2026-11-01T10:0{number}:00Z",
             "payload": {"action": "opened", "number": number, "pull_request": {"number": number,
                         "title": "it's \\ \"quoted\""}}}  # fmt: skip
    headers = {"source": b"gharchive", "hour": b"2026-11-01-10", "line": str(number).encode()}
    return orjson.dumps(event), headers


def _replace(engine: ChdbEngine, settings: Settings, name: str, batch: list[Any]) -> Any:
    rebuild = TopicRangeRebuild(_Engine(engine), settings, name, max_statement_bytes=400)  # type: ignore[arg-type]
    rebuild.start()
    assert rebuild.stage(batch) == len(batch), "small statements: several, every message sent"
    report = rebuild.replace({0: (10, 10 + len(batch))})
    rebuild.drop()
    return report


def test_replacing_a_range_twice_leaves_each_row_and_aggregate_once(
    warehouse: tuple[ChdbEngine, Settings],
) -> None:
    engine, settings = warehouse
    batch = [(0, 10 + i, *_message(i, kind)) for i, kind in
             enumerate(["PullRequestEvent", "PushEvent", "not json", "WatchEvent"])]  # fmt: skip
    batch[2] = (0, 12, b"not json", {})
    first = _replace(engine, settings, "topic_replay_a", batch)
    assert (first.deleted, first.inserted, first.days) == (0, 3, ("2026-11-01",))
    assert set(first.aggregates) == {"actor_first_seen", "actors_daily", "events_per_minute",
                                     "pull_requests_daily", "repo_events_daily"}  # fmt: skip
    second = _replace(engine, settings, "topic_replay_b", batch)
    assert (second.deleted, second.inserted) == (3, 3)

    rows = engine.rows(
        "SELECT event_type, title, source_hour, source_line, kafka_offset "
        "FROM ghlake.github_events ORDER BY kafka_offset"
    )
    assert [r["kafka_offset"] for r in rows] == [10, 11, 13], "each once; no row of 'not json'"
    assert rows[0]["title"] == 'it\'s \\ "quoted"', "the message arrives byte for byte"
    assert (rows[0]["source_hour"], rows[2]["source_line"]) == ("2026-11-01-10", 3)
    actors = engine.rows(
        "SELECT uniqExactMerge(events) AS n FROM ghlake.actors_daily WHERE day = '2026-11-01'"
    )
    assert actors == [{"n": 3}]
    first_seen = engine.rows("SELECT sum(other_events) AS n FROM ghlake.actor_first_seen")
    assert first_seen == [{"n": 2}], "rebuilt, not added to"
    leftovers = engine.rows("SELECT name FROM system.tables WHERE name LIKE 'topic_replay%'")
    assert leftovers == []
