"""Table maintenance: compaction of closed partitions, vacuum, history.

The library functions the CLI (``ghlake lake compact|vacuum|history``) and
Airflow's compaction DAG call. A partition (an event date) is *closed* when
its date is before today's in UTC: the writers still append to today's, and
may append late events to any date, which is harmless: compaction commits
only rewrite files (no data change), appends never conflict with them, and a
reader sees either the small files or the compacted one, never both (each
version is whole). Vacuum deletes files no version within the retention
references: those compaction replaced and the orphans of batches that never
committed (:mod:`ghlake.lake.checkpoint`).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from ghlake.errors import InvalidInputError
from ghlake.lake.table import CompactionResult, LakeTable, TableCommit

__all__ = ["closed_partitions", "compact", "history", "vacuum"]

log = logging.getLogger(__name__)


def closed_partitions(
    table: LakeTable, first: date | None = None, last: date | None = None,
    today: date | None = None,
) -> list[str]:  # fmt: skip
    """Event dates of the table in ``first..last`` that are closed (before ``today``, UTC)."""
    today = today or datetime.now(UTC).date()
    if first is not None and last is not None and last < first:
        raise InvalidInputError(f"--to {last} is before --from {first}")
    dates = sorted({f.event_date for f in table.files()})
    return [
        d for d in dates
        if d < today.isoformat()
        and (first is None or d >= first.isoformat())
        and (last is None or d <= last.isoformat())
    ]  # fmt: skip


def compact(
    table: LakeTable, target_mb: int, first: date | None = None, last: date | None = None,
    *, dry_run: bool = False, today: date | None = None,
) -> CompactionResult:  # fmt: skip
    """Compact the closed partitions in ``first..last`` into files of ``target_mb``."""
    partitions = closed_partitions(table, first, last, today)
    result = table.compact(partitions, target_mb * 1024 * 1024, dry_run=dry_run)
    log.info(
        "compaction done" if not dry_run else "compaction planned",
        extra={"partitions": len(partitions), "files_removed": result.files_removed,
               "files_added": result.files_added, "bytes": result.bytes_read},
    )  # fmt: skip
    return result


def vacuum(table: LakeTable, retain_hours: int, *, dry_run: bool = False) -> list[str]:
    """Delete unreferenced files older than ``retain_hours``; the files (to be) deleted."""
    deleted = table.vacuum(retain_hours, dry_run=dry_run)
    log.info("vacuum done", extra={"files": len(deleted), "dry_run": dry_run})
    return deleted


def history(table: LakeTable, limit: int | None = None) -> list[TableCommit]:
    """The table's commits, newest first."""
    return table.history(limit)
