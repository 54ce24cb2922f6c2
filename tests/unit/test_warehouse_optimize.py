"""OPTIMIZE statements for the months a compaction touched."""

from __future__ import annotations

import pytest

from ghlake.errors import InvalidInputError
from ghlake.warehouse.optimize import optimize_statements


def test_each_monthly_table_is_merged_per_month_and_the_others_whole() -> None:
    statements = optimize_statements("ghlake", [201501, 201501, 201412])
    assert statements[:2] == [
        "OPTIMIZE TABLE ghlake.github_events PARTITION 201412 FINAL",
        "OPTIMIZE TABLE ghlake.github_events PARTITION 201501 FINAL",
    ]
    assert len(statements) == 4 * 2 + 2
    assert statements[-1] == "OPTIMIZE TABLE ghlake.actor_first_seen FINAL"


def test_no_months_no_statements_and_a_bad_month_is_refused() -> None:
    assert optimize_statements("ghlake", []) == []
    with pytest.raises(InvalidInputError, match="YYYYMM"):
        optimize_statements("ghlake", [201513])
