"""Reading the lake back: counts for reconciliation, partitions for verification.

Counting events per source hour needs only the footers: the writer puts each
object's count per source hour there (:data:`SOURCE_HOURS_KEY`), and
:class:`ObjectFile` reads an object through ranged GETs, so only the footer is
fetched, not the object (whose original ``raw`` lines are most of its bytes).
Objects written before that are counted from row-group statistics, reading the
``source_hour`` column of a row group only where it holds several hours.

Verification reads whole objects instead: it needs several columns of every row
group, one GET each, and on MinIO those GETs cost more than the bytes they save
(3 columns of 18 objects: 0.45 s ranged, 0.17 s whole).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ghlake.lake.schema import SOURCE_HOURS_KEY, partition_path
from ghlake.lake.store import ObjectInfo, ObjectStore

__all__ = ["ObjectFile", "count_by_source_hour", "open_parquet", "read_event_hour"]


class ObjectFile(io.RawIOBase):
    """A read-only, seekable file over one stored object, read with ranged GETs."""

    def __init__(self, store: ObjectStore, info: ObjectInfo) -> None:
        super().__init__()
        self.store = store
        self.key = info.key
        self.size = info.size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        length = min(len(buffer), self.size - self._position)
        if length <= 0:
            return 0
        data = self.store.get(self.key, self._position, length)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def open_parquet(store: ObjectStore, info: ObjectInfo) -> pq.ParquetFile:
    """A stored Parquet object, of which only the parts read are fetched."""
    return pq.ParquetFile(ObjectFile(store, info))


def _parquet_objects(store: ObjectStore, prefix: str) -> Iterator[ObjectInfo]:
    return (info for info in store.list(prefix) if info.key.endswith(".parquet"))


def count_by_source_hour(
    store: ObjectStore, prefix: str, hours: Collection[str] | None = None
) -> dict[str, int]:
    """Events in the lake per GH Archive source hour (only ``hours`` when given)."""
    counts: Counter[str] = Counter()
    for info in _parquet_objects(store, f"{prefix}/"):
        parquet = open_parquet(store, info)
        footer = (parquet.metadata.metadata or {}).get(SOURCE_HOURS_KEY.encode())
        found = orjson.loads(footer) if footer is not None else _count_row_groups(parquet, hours)
        counts.update({h: n for h, n in found.items() if hours is None or h in hours})
    return dict(counts)


def _count_row_groups(parquet: pq.ParquetFile, hours: Collection[str] | None) -> Mapping[str, int]:
    """Events per source hour of an object without footer counts, from its row groups."""
    counts: Counter[str] = Counter()
    wanted = None if hours is None else sorted(hours)
    column = parquet.schema_arrow.get_field_index("source_hour")
    for group in range(parquet.metadata.num_row_groups):
        meta = parquet.metadata.row_group(group)
        stats = meta.column(column).statistics
        if stats is not None and stats.has_min_max and stats.null_count == 0:
            low, high = str(stats.min), str(stats.max)
            if wanted is not None and not any(low <= h <= high for h in wanted):
                continue  # no wanted hour in this row group
            if low == high:
                counts[low] += meta.num_rows  # one hour: the statistics are enough
                continue
        table = parquet.read_row_group(group, columns=["source_hour"])
        counts.update(table.column("source_hour").to_pylist())
    return counts


def read_event_hour(
    store: ObjectStore, prefix: str, hour_start: datetime, columns: Sequence[str]
) -> Iterator[tuple[str, pa.Table]]:
    """(key, table of ``columns``) for every Parquet object of one event-hour partition."""
    for info in _parquet_objects(store, f"{partition_path(prefix, hour_start)}/"):
        yield info.key, pq.read_table(io.BytesIO(store.get(info.key)), columns=list(columns))
