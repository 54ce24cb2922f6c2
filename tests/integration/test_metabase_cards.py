"""Every Metabase card's SQL through the real ClickHouse JDBC driver against the warehouse.

As Metabase runs it: its variables substituted with their defaults, through the driver
Metabase's ClickHouse driver bundles (jdbc-v2 0.9.x, compression on), as the read-only
analyst the provisioned connection uses; then the metadata calls of Metabase's sync
(DatabaseMetaData: schemas, tables, columns).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ghlake.metabase.content import load_content, rendered
from ghlake.platform import Platform
from ghlake.settings import DEV_ANALYST_PASSWORD
from tests.jdbc import ensure_jdbc_jars, run_jdbc

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FOLDER = Path(__file__).resolve().parents[2] / "metabase"


def test_every_card_runs_through_the_jdbc_driver(platform: Platform) -> None:
    content = load_content(FOLDER)
    settings = platform.settings.warehouse
    libs = ensure_jdbc_jars(platform.settings.cache_dir)
    url = f"jdbc:clickhouse://127.0.0.1:{settings.http_port}/{settings.database}"
    cards = list(content.cards.values())
    _, answers = run_jdbc(
        libs, url, settings.analyst_user, DEV_ANALYST_PASSWORD,
        [*(rendered(card) for card in cards), "!metadata"],
    )  # fmt: skip
    *results, metadata = answers
    failed = {card.key: answer.error for card, answer in zip(cards, results, strict=True)
              if answer.error is not None}  # fmt: skip
    assert failed == {}
    for card, answer in zip(cards, results, strict=True):
        assert answer.columns, card.key
    tables = dict(row for row in metadata.rows if row[0] == "#tables")["#tables"].split(",")
    assert {"github_events", "events_per_minute", "ingest_errors"} <= set(tables)
