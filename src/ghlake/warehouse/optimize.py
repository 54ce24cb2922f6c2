"""OPTIMIZE ... FINAL for the months a backfill or compaction touched.

Merges are what make the ReplacingMergeTree's duplicates and the aggregate tables'
partial states go away on disk; after a backfill, merging the touched months now spares
every later query the work (FINAL, or a deduplicating aggregate) and the background
merges the wait. Tables partitioned by month are merged partition by partition; the two
aggregate tables without partitions are merged whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from ghlake.errors import InvalidInputError

__all__ = ["MONTHLY_TABLES", "UNPARTITIONED_TABLES", "optimize_statements"]

# Partitioned by toYYYYMM(...) (clickhouse/migrations/0001 and 0003).
MONTHLY_TABLES = ("github_events", "events_per_minute", "repo_events_daily", "pull_requests_daily")
UNPARTITIONED_TABLES = ("actors_daily", "actor_first_seen")


def optimize_statements(database: str, months: Iterable[int]) -> list[str]:
    """The statements that merge ``months`` (YYYYMM) of every table; none without months."""
    chosen = sorted(set(months))
    for month in chosen:
        if not (197001 <= month <= 299912 and 1 <= month % 100 <= 12):
            raise InvalidInputError(f"{month} is not a month as YYYYMM")
    if not chosen:
        return []
    statements = [
        f"OPTIMIZE TABLE {database}.{table} PARTITION {month} FINAL"
        for table in MONTHLY_TABLES
        for month in chosen
    ]
    return statements + [f"OPTIMIZE TABLE {database}.{t} FINAL" for t in UNPARTITIONED_TABLES]
