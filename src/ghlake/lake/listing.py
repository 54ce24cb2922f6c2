"""What the lake holds, partition by partition."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from ghlake.lake.store import ObjectStore

__all__ = ["LakePartition", "list_partitions"]

_PARTITION = re.compile(r"/event_date=(\d{4}-\d{2}-\d{2})/event_hour=(\d{2})/")


@dataclass(frozen=True)
class LakePartition:
    """One Hive partition (an event hour) of the lake."""

    event_date: str
    event_hour: str
    files: int
    bytes: int


def list_partitions(store: ObjectStore, prefix: str) -> list[LakePartition]:
    """Every event-hour partition under ``prefix`` with its file count and size."""
    files: dict[tuple[str, str], list[int]] = defaultdict(list)
    for info in store.list(f"{prefix}/"):
        match = _PARTITION.search(info.key)
        if match and info.key.endswith(".parquet"):
            files[(match.group(1), match.group(2))].append(info.size)
    return [
        LakePartition(date, hour, len(sizes), sum(sizes))
        for (date, hour), sizes in sorted(files.items())
    ]
