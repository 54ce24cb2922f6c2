"""Reading the lake back: counts for reconciliation, partitions for verification."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from ghlake.lake.schema import partition_path
from ghlake.lake.store import ObjectStore

__all__ = ["count_by_source_hour", "read_event_hour"]


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


def read_event_hour(
    store: ObjectStore, prefix: str, hour_start: datetime, columns: Sequence[str]
) -> Iterator[tuple[str, pa.Table]]:
    """(key, table of ``columns``) for every Parquet object of one event-hour partition."""
    for info in store.list(f"{partition_path(prefix, hour_start)}/"):
        if info.key.endswith(".parquet"):
            yield info.key, pq.read_table(io.BytesIO(store.get(info.key)), columns=list(columns))
