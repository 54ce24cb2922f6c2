"""Grafana's ClickHouse client (clickhouse-go v2, HTTP protocol) against the ClickHouse port.

clickhouse-go asks for Native with ``client_protocol_version`` and decodes it as a
revision-aware client (BlockInfo, custom-serialization flags): the answers come from
:func:`ghlake.warehouse.native.for_revision`. With and without LZ4 compressed blocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ghlake.platform import Platform
from ghlake.settings import DEV_ANALYST_PASSWORD
from tests.grafana import ensure_grafana_check, run_grafana_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STATEMENTS = [
    "SELECT number AS n, toString(number) AS s, "
    "toDateTime('2026-01-01 00:00:00', 'UTC') + number AS t FROM numbers(3)",
    # A Grafana time series: minutes and counts from the warehouse.
    "SELECT toStartOfMinute(created_at) AS time, count() AS events FROM github_events "
    "WHERE created_at >= toDateTime('2000-01-01 00:00:00', 'UTC') "
    "GROUP BY time ORDER BY time LIMIT 5",
    "SELECT [1, 2] AS a, toNullable('x') AS n, toLowCardinality('lc') AS lc, map('k', 1) AS m",
    "DROP TABLE github_events",
]


@pytest.fixture(scope="module")
def binary(platform: Platform) -> Path:
    return ensure_grafana_check(platform.settings.cache_dir)


@pytest.mark.parametrize("lz4", [False, True], ids=["plain", "lz4-blocks"])
def test_clickhouse_go_reads_native_blocks(platform: Platform, binary: Path, lz4: bool) -> None:
    settings = platform.settings.warehouse
    addr = f"127.0.0.1:{settings.http_port}"
    banner, answers = run_grafana_check(
        binary, addr, settings.analyst_user, DEV_ANALYST_PASSWORD, STATEMENTS, lz4=lz4
    )
    assert banner.startswith("#connected 25.8"), banner
    numbers, series, shapes, drop = answers
    assert numbers.error is None, numbers.error
    assert numbers.columns == [("n", "UInt64"), ("s", "String"), ("t", "DateTime")]
    assert [row[:2] for row in numbers.rows] == [["0", "0"], ["1", "1"], ["2", "2"]]
    assert numbers.rows[1][2].startswith("2026-01-01 00:00:01")
    assert series.error is None, series.error
    assert [name for name, _ in series.columns] == ["time", "events"]
    assert shapes.error is None, shapes.error
    assert [shapes.rows[0][0], shapes.rows[0][2]] == ["[1 2]", "lc"]  # [1] is a *string
    assert "164" in str(drop.error), drop
