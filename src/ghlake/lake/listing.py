"""What the lake's Delta table holds, partition by partition."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ghlake.lake.table import LakeTable

__all__ = ["LakePartition", "list_partitions"]


@dataclass(frozen=True)
class LakePartition:
    """One partition (an event date) of the table's current version."""

    event_date: str
    files: int
    rows: int
    bytes: int


def list_partitions(table: LakeTable, version: int | None = None) -> list[LakePartition]:
    """Every event-date partition of the snapshot with its files, rows and size."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for file in table.files(version):
        entry = found[file.event_date]
        entry[0] += 1
        entry[1] += file.rows
        entry[2] += file.size
    return [LakePartition(date, *values) for date, values in sorted(found.items())]
