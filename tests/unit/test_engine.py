"""Parameters reach chDB as typed values; untrusted SQL runs read-only within limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.readonly import ReadOnlyLimits, read_only_settings

NASTY = ["plain", "it's", "back\\slash", "'); DROP TABLE x; --", "new\nline", "ünï©ødé", ""]


# chDB binds one data path per process: the module shares one engine and closes it at the end.
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbEngine]:
    engine = ChdbEngine(tmp_path_factory.mktemp("chdb") / "data")
    engine.execute("CREATE TABLE default.t (x UInt64) ENGINE = MergeTree ORDER BY x")
    engine.execute("INSERT INTO default.t SELECT number FROM numbers(100)")
    yield engine
    engine.close()


@pytest.mark.parametrize("value", NASTY)
def test_strings_round_trip(engine: ChdbEngine, value: str) -> None:
    [row] = engine.rows("SELECT {v:String} AS v", {"v": value})
    assert row["v"] == value


def test_arrays_and_numbers(engine: ChdbEngine) -> None:
    [row] = engine.rows(
        "SELECT has({hours:Array(String)}, 'it''s') AS hit, {n:UInt64} + 1 AS n1",
        {"hours": NASTY, "n": 41},
    )
    assert row in ({"hit": 1, "n1": "42"}, {"hit": 1, "n1": 42})


def test_bad_parameter_names_and_statements(engine: ChdbEngine) -> None:
    with pytest.raises(InvalidInputError):
        engine.rows("SELECT 1", {"x = 1; DROP": 1})
    with pytest.raises(WarehouseError, match="statement"):
        engine.rows("SELEKT 1")


LIMITS = ReadOnlyLimits(max_rows=5, max_seconds=1)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO default.t VALUES (1)",
        "DROP TABLE default.t",
        "SET readonly = 0",
        "TRUNCATE TABLE default.t",
        "SELECT 1; DROP TABLE default.t",
        "SELECT 1) UNION ALL (SELECT 2",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT 1 INTO OUTFILE '/tmp/ghlake-readonly-test'",
        "SELECT * FROM (SELECT * FROM file('/etc/hosts', 'LineAsString') SETTINGS readonly = 0)",
    ],
)
def test_untrusted_sql_that_writes_or_escapes_is_refused(engine: ChdbEngine, sql: str) -> None:
    with pytest.raises(InvalidInputError):
        engine.read_only(sql, LIMITS)
    assert int(engine.rows("SELECT count() AS n FROM default.t")[0]["n"]) == 100


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO default.t SELECT 1",
        "DROP TABLE default.t",
        "CREATE TABLE default.u (x UInt8) ENGINE = Memory",
        "OPTIMIZE TABLE default.t",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    ],
)
def test_the_settings_alone_make_the_engine_refuse_writes(
    engine: ChdbEngine, statement: str
) -> None:
    """Even a statement that got past the subquery wrapper is refused by ClickHouse itself."""
    settings = ", ".join(
        f"{k} = {v!r}" if not isinstance(v, str) else f"{k} = '{v}'"
        for k, v in read_only_settings(LIMITS).items()
    )
    with pytest.raises(WarehouseError, match="READONLY"):
        engine.execute(f"{statement} SETTINGS {settings}")


def test_limits_cut_rows_and_time_and_leave_the_session_writable(engine: ChdbEngine) -> None:
    result = engine.read_only("SELECT x FROM default.t ORDER BY x", LIMITS)
    assert (result.columns, result.rows, result.truncated) == (
        ["x"],
        [[0], [1], [2], [3], [4]],
        True,
    )
    # A SETTINGS clause inside the statement does not lift the engine's time limit.
    with pytest.raises(InvalidInputError, match="Timeout"):
        engine.read_only("SELECT sleep(2) SETTINGS max_execution_time = 100", LIMITS)
    assert engine.read_only("SELECT getSetting('readonly') AS r", LIMITS).rows == [[1]]
    assert engine.rows("SELECT getSetting('readonly') AS r") == [{"r": 0}]
    engine.execute("INSERT INTO default.t VALUES (1000)")
    engine.execute("ALTER TABLE default.t DELETE WHERE x = 1000 SETTINGS mutations_sync = 1")


def test_a_slow_query_does_not_hold_up_the_others(engine: ChdbEngine) -> None:
    # chDB 4 runs queries of different connections in parallel: a dashboard's slow
    # query holds one connection of the pool while health checks and others go on.
    slow = threading.Thread(target=lambda: engine.rows("SELECT sleep(2) AS s"))
    slow.start()
    time.sleep(0.3)
    started = time.perf_counter()
    assert engine.rows("SELECT 1 AS one") == [{"one": 1}]
    answered = time.perf_counter() - started
    slow.join()
    assert answered < 1.5, f"the quick query waited {answered:.2f} s behind the slow one"


def test_a_failed_query_leaves_nothing_for_the_next(engine: ChdbEngine) -> None:
    # chDB 4.4 keeps a failed query's partial output in its connection; it must never
    # reach the next caller's answer.
    with pytest.raises(InvalidInputError, match="Timeout"):
        engine.read_only("SELECT sleep(2) AS slept", LIMITS)
    for _ in range(10):
        assert engine.read_only("SELECT 7 AS n", LIMITS).rows == [[7]]
