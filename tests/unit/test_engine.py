"""Parameters reach chDB as typed values, whatever characters they hold."""

from __future__ import annotations

import pytest

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.warehouse.engine import ChdbEngine

NASTY = ["plain", "it's", "back\\slash", "'); DROP TABLE x; --", "new\nline", "ünï©ødé", ""]


# chDB allows one session per process, so the whole module shares this one.
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> ChdbEngine:
    return ChdbEngine(tmp_path_factory.mktemp("chdb") / "data")


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
