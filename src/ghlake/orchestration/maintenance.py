"""The upkeep after backfills: compact and vacuum the lake, merge what the warehouse holds.

``lake_compaction`` (airflow/dags) runs this through ``ghlake lake maintain``. The lake
part is :mod:`ghlake.lake.maintenance` (closed partitions only; vacuum past retention);
the warehouse part OPTIMIZEs the months of the partitions that were compacted, through
the warehouse service. The report says what was done, with the table's files and rows
before and after (rows must not change: compaction only rewrites).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from ghlake.lake import maintenance
from ghlake.lake.table import LakeTable
from ghlake.warehouse.client import WarehouseClient

__all__ = ["MaintenanceReport", "maintain"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance run did."""

    partitions: list[str]  # event dates compacted
    files_before: int
    files_after: int
    rows_before: int
    rows_after: int
    files_removed: int
    files_added: int
    bytes_read: int
    vacuumed: int
    optimized: list[str]  # the warehouse statements run


def maintain(
    table: LakeTable,
    warehouse: WarehouseClient,
    target_mb: int,
    retain_hours: int,
    *,
    today: date | None = None,
) -> MaintenanceReport:
    """Compact the closed partitions, vacuum, and OPTIMIZE the months compacted."""
    before = table.files()
    result = maintenance.compact(table, target_mb, today=today)
    vacuumed = maintenance.vacuum(table, retain_hours)
    months = sorted({int(p[:7].replace("-", "")) for p in result.partitions})
    optimized = warehouse.optimize(months) if result.files_removed else []
    after = table.files()
    report = MaintenanceReport(
        list(result.partitions), len(before), len(after), sum(f.rows for f in before),
        sum(f.rows for f in after), result.files_removed, result.files_added, result.bytes_read,
        len(vacuumed), optimized,
    )  # fmt: skip
    log.info("maintenance done", extra={"partitions": len(report.partitions),
             "files_before": report.files_before, "files_after": report.files_after,
             "vacuumed": report.vacuumed, "optimized": len(optimized)})  # fmt: skip
    return report
