"""Reading the lake back: counts for reconciliation and verification."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection

import pyarrow.parquet as pq

from ghlake.lake.store import ObjectStore

__all__ = ["count_by_source_hour"]


def count_by_source_hour(
    store: ObjectStore, prefix: str, hours: Collection[str] | None = None
) -> dict[str, int]:
    """Events in the lake per GH Archive source hour (only ``hours`` when given)."""
    counts: Counter[str] = Counter()
    for info in store.list(f"{prefix}/"):
        if not info.key.endswith(".parquet"):
            continue
        table = pq.read_table(io.BytesIO(store.get(info.key)), columns=["source_hour"])
        for hour, n in Counter(table.column("source_hour").to_pylist()).items():
            if hours is None or hour in hours:
                counts[hour] += n
    return dict(counts)
