"""Each event once in the table: the identities it holds, per event hour, for the writer.

An event published twice (a forced re-replay of an hour, a topic replay, the
live poller and the archive both carrying it) comes back with new offsets, so
the transactions (:mod:`ghlake.lake.checkpoint`) cannot see it. The writer
therefore drops, at commit time, every event whose identity ``(event_key,
created_at)`` (:class:`~ghlake.events.identity.EventIdentity`) the table holds
already. This is where the rule is enforced, rather than in a MERGE (which
rewrites the files it touches on every batch) or in compaction (readers would
have to deduplicate until then, and a count in between would be wrong).

:class:`IdentityIndex` keeps, per event hour the writer touched, the
identities of the committed files it has read. A lookup lists the snapshot's
files of that hour's date whose ``created_at`` statistics overlap the hour and
reads the two key columns of the files it has not read yet (one ranged read
of two columns: the ``raw`` lines, most of a file, are never fetched). In the
steady state the writer's own commits are added as it makes them, so only
other writers' files are read. An identity is packed into one int
(``key << 12 | second of the hour``): an hour of 200k events takes ~16 MB. At
most ``max_hours`` hours are kept (``lake.dedup_hours``; least recently used go first).

The copies of one event share a Kafka key (the repository id; the event's
identity when it has no repository: sources/lines.py), hence a
Kafka partition, hence a writer: two workers never hold two copies of one
event in flight at once, which is why checking against the committed
snapshot before the commit suffices.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from ghlake.lake.reader import ObjectFile
from ghlake.lake.store import ObjectInfo, ObjectStore
from ghlake.lake.table import DataFile, LakeTable

__all__ = ["IdentityIndex", "pack"]

log = logging.getLogger(__name__)

_HOUR = timedelta(hours=1)
_SECONDS = pa.timestamp("s", tz="UTC")


def pack(key: int, created_at: int) -> int:
    """One int for an identity within its hour (``created_at`` in seconds)."""
    return key << 12 | created_at % 3600


class _Hour:
    __slots__ = ("files", "identities")

    def __init__(self) -> None:
        self.identities: set[int] = set()
        self.files: set[str] = set()


class IdentityIndex:
    """Identities of the table's events per event hour (see the module docstring)."""

    def __init__(self, table: LakeTable, store: ObjectStore, max_hours: int) -> None:
        self.table = table
        self.store = store
        self.max_hours = max_hours
        self._hours: OrderedDict[int, _Hour] = OrderedDict()
        self.files_read = 0

    def known(self, hour: int, files: Iterable[DataFile]) -> set[int]:
        """Packed identities the table holds in the event hour starting at ``hour`` (seconds).

        ``files`` is the snapshot's file list (:meth:`LakeTable.files`), read once per batch.
        """
        entry = self._hours.get(hour)
        if entry is None:
            entry = self._hours[hour] = _Hour()
            while len(self._hours) > self.max_hours:
                self._hours.popitem(last=False)
        else:
            self._hours.move_to_end(hour)
        start = datetime.fromtimestamp(hour, UTC)
        date = f"{start:%Y-%m-%d}"
        for file in files:
            if file.event_date != date or file.path in entry.files:
                continue
            if (
                file.min_created_at is not None
                and file.max_created_at is not None
                and (file.max_created_at < start or file.min_created_at >= start + _HOUR)
            ):
                continue
            entry.identities.update(self._read(file, hour))
            entry.files.add(file.path)
        return entry.identities

    def _read(self, file: DataFile, hour: int) -> list[int]:
        info = ObjectInfo(f"{self.table.prefix}/{file.path}", file.size)
        table = pq.ParquetFile(ObjectFile(self.store, info)).read(
            columns=["event_key", "created_at"]
        )
        self.files_read += 1
        keys = table.column("event_key").cast(pa.uint64()).to_pylist()
        seconds = table.column("created_at").cast(_SECONDS, safe=False).cast(pa.int64())
        pairs = zip(keys, seconds.to_pylist(), strict=True)
        return [pack(k, s) for k, s in pairs if s // 3600 * 3600 == hour]

    def committed(self, hour: int, paths: Iterable[str], identities: Iterable[int]) -> None:
        """Record a commit of this writer: its files of ``hour`` and their identities."""
        entry = self._hours.get(hour)
        if entry is None:
            return  # not cached: read from the table when next needed
        entry.files.update(paths)
        entry.identities.update(identities)

    def forget(self) -> None:
        """Drop everything (after a failed commit whose outcome is unknown)."""
        self._hours.clear()
