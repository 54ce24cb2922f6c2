"""The ClickHouse JDBC driver (jdbc-v2 0.9.x, Metabase's) against the warehouse's ClickHouse port.

Compression is on as Metabase uses it (the driver's default: ``compress=1``, answers in
ClickHouse's compressed blocks); the service's metrics show the framed answers.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ghlake.platform import Platform
from ghlake.settings import DEV_ANALYST_PASSWORD
from tests.jdbc import ensure_jdbc_jars, run_jdbc

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def libs(platform: Platform) -> Path:
    return ensure_jdbc_jars(platform.settings.cache_dir)


def _framed(platform: Platform) -> float:
    text = httpx.get(f"{platform.settings.warehouse.url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ghlake_clickhouse_queries_total{") and 'framed="true"' in line
    )


def test_jdbc_driver_queries_with_compression_and_syncs_metadata(
    platform: Platform, libs: Path
) -> None:
    settings = platform.settings.warehouse
    url = f"jdbc:clickhouse://127.0.0.1:{settings.http_port}/{settings.database}"
    before = _framed(platform)
    banner, answers = run_jdbc(
        libs, url, settings.analyst_user, DEV_ANALYST_PASSWORD,
        [
            "SELECT number AS n, toString(number) AS s, toDate('2026-01-02') AS d "
            "FROM numbers(3)",
            "SELECT currentDatabase() AS db, getSetting('readonly') AS ro",
            "SELECT count() AS c FROM github_events",
            "DROP TABLE github_events",
            "SELEC 1",
            "!metadata",
        ],
    )  # fmt: skip
    assert banner.startswith("#connected 25.8"), banner
    numbers, where, count, drop, malformed, metadata = answers
    assert numbers.columns == [("n", "UInt64"), ("s", "String"), ("d", "Date")]
    assert numbers.rows == [["0", "0", "2026-01-02"], ["1", "1", "2026-01-02"],
                            ["2", "2", "2026-01-02"]]  # fmt: skip
    assert where.rows == [[settings.database, "1"]]
    assert int(count.rows[0][0]) >= 0
    assert "164" in str(drop.error), drop
    assert "62" in str(malformed.error), malformed
    tables = dict(row for row in metadata.rows if row[0] == "#tables")["#tables"].split(",")
    assert "github_events" in tables
    assert _framed(platform) > before, "the driver asked for compressed blocks (compress=1)"
