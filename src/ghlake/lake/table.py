"""The lake's Delta table: the one seam to delta-rs (``deltalake``), errors translated here.

The table lives at ``s3://<bucket>/<lake.table>/`` in MinIO. Its data files are
written by the lake writer through :class:`~ghlake.lake.store.ObjectStore` (the
bucket seam, with its retry policy) and become part of the table only when a
commit names them (:meth:`LakeTable.commit`): one commit holds a batch's files,
each Kafka partition's last offset as an application transaction (app id
``<topic>-p<partition>``, version = the offset) and the batch's count per
source hour as commit metadata. The protocol is in :mod:`ghlake.lake.checkpoint`.

Concurrent commits from several workers are safe on S3 through conditional
puts (``aws_conditional_put=etag``: a commit file is created only if absent,
which MinIO honours); delta-rs retries a commit that lost the race for its
version as long as it does not conflict (appends never do). delta-rs runs on
tokio: a process must not fork after it opened a table (the worker is started
with ``Popen``, never forked from one that has).

Every reader (verify, export, reconciliation, the mirror, chDB's
``deltaLake()``, Spark) reads a snapshot: a version, by default the latest, or
the version current at a time (time travel).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction

from ghlake.errors import InvalidInputError, StorageError, TransientStorageError
from ghlake.lake.schema import PARTITION_COLUMN, TABLE_PROPERTIES, TABLE_SCHEMA
from ghlake.settings import Settings

__all__ = ["CompactionResult", "DataFile", "LakeTable", "TableCommit", "app_id"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Failures that say "the service is not answering now" rather than "this is wrong".
_TRANSIENT_WORDS = (
    "error sending request", "connection", "timed out", "timeout", "503", "500",
    "slowdown", "service unavailable", "dns", "broken pipe", "reset by peer",
    "generic s3 error", "io error",
)  # fmt: skip


def app_id(topic: str, partition: int) -> str:
    """The application-transaction id of one Kafka partition of ``topic``."""
    return f"{topic}-p{partition}"


@dataclass(frozen=True)
class DataFile:
    """One data file of the current snapshot, with the statistics the writer recorded."""

    path: str  # relative to the table root
    size: int
    rows: int
    event_date: str
    min_created_at: datetime | None
    max_created_at: datetime | None
    min_source_hour: str | None
    max_source_hour: str | None


@dataclass(frozen=True)
class TableCommit:
    """One entry of the table's history."""

    version: int
    timestamp: datetime | None
    operation: str
    source_hours: Mapping[str, int]
    offsets: Mapping[str, int]
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class CompactionResult:
    """What one compaction did (or, in a dry run, would do)."""

    partitions: tuple[str, ...]
    files_removed: int
    files_added: int
    bytes_read: int
    dry_run: bool


def _translate(action: str, exc: Exception) -> StorageError:
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, CommitFailedError | OSError) or any(w in lowered for w in _TRANSIENT_WORDS):
        return TransientStorageError(f"{action}: {text[:500]}")
    return StorageError(f"{action}: {text[:500]}")


class LakeTable:
    """The lake's Delta table in the bucket (created on first use)."""

    def __init__(self, uri: str, storage_options: Mapping[str, str]) -> None:
        self.uri = uri
        self.storage_options = dict(storage_options)
        self._table: DeltaTable | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LakeTable:
        """The table at ``s3://<bucket>/<lake.table>`` of the configured MinIO."""
        scheme = "https" if settings.minio.secure else "http"
        options = {
            "AWS_ENDPOINT_URL": f"{scheme}://{settings.minio.endpoint}",
            "AWS_ACCESS_KEY_ID": settings.minio_access_key,
            "AWS_SECRET_ACCESS_KEY": settings.minio_secret_key,
            "AWS_REGION": settings.minio.region,
            "AWS_ALLOW_HTTP": "true",
            # Commits are created only if absent: concurrent writers never overwrite a version.
            "aws_conditional_put": "etag",
            "AWS_S3_ALLOW_UNSAFE_RENAME": "false",
            "timeout": "30s",
            "connect_timeout": "3s",
        }
        return cls(f"s3://{settings.minio.bucket}/{settings.lake.table}", options)

    @property
    def prefix(self) -> str:
        """The table's root key in the bucket (data file keys are ``<prefix>/<path>``)."""
        return self.uri.split("/", 3)[3]

    def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (DeltaError, OSError) as exc:
            raise _translate(f"{action} of {self.uri}", exc) from exc

    def table(self) -> DeltaTable:
        """The table at its latest version (created, with its properties, if absent)."""
        if self._table is None:
            self._table = self._call("opening", self._open)
        else:
            self._call("refreshing", self._table.update_incremental)
        return self._table

    def _open(self) -> DeltaTable:
        """Open the table, creating it when absent; several processes may race to create it."""
        for attempt in range(10):
            try:
                return DeltaTable(self.uri, storage_options=self.storage_options)
            except TableNotFoundError:
                pass
            log.info("creating the lake's Delta table", extra={"table": self.uri})
            try:
                DeltaTable.create(
                    self.uri, TABLE_SCHEMA, mode="ignore", partition_by=[PARTITION_COLUMN],
                    name="github_events", description="GitHub events (ghlake's lake)",
                    configuration=dict(TABLE_PROPERTIES), storage_options=self.storage_options,
                )  # fmt: skip
            except (CommitFailedError, TableNotFoundError):
                # Another writer created version 0 first (or is writing it): open theirs.
                time.sleep(0.1 * (attempt + 1))
        return DeltaTable(self.uri, storage_options=self.storage_options)

    def snapshot(self, version: int | None = None, as_of: datetime | None = None) -> DeltaTable:
        """The table as of ``version`` or ``as_of`` (a time), else the latest version."""
        if version is None and as_of is None:
            return self.table()
        latest = self.table().version()  # created if absent
        if version is not None and not 0 <= version <= latest:
            raise InvalidInputError(f"the lake's table has versions 0..{latest}, not {version}")
        snapshot = self._call(
            "opening", lambda: DeltaTable(self.uri, storage_options=self.storage_options)
        )
        target: int | datetime = version if version is not None else as_of  # type: ignore[assignment]
        self._call(f"loading version {target}", lambda: snapshot.load_as_version(target))
        return snapshot

    def version(self) -> int:
        """The latest version."""
        return self.table().version()

    def offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        """The last offset of each partition committed to the table (-1: none yet)."""
        table = self.table()
        found = {}
        for partition in partitions:
            name = app_id(topic, partition)
            version = self._call(
                "reading a transaction", functools.partial(table.transaction_version, name)
            )
            found[partition] = -1 if version is None else int(version)
        return found

    def commit(
        self, files: Sequence[AddAction], offsets: Mapping[int, int], topic: str,
        metadata: Mapping[str, str],
    ) -> int:  # fmt: skip
        """One commit: ``files`` added and each partition's last offset; the new version."""
        table = self.table()
        properties = CommitProperties(
            custom_metadata=dict(metadata),
            app_transactions=[Transaction(app_id(topic, p), o) for p, o in sorted(offsets.items())],
            max_commit_retries=50,
        )
        self._call(
            "committing a batch",
            lambda: table.create_write_transaction(
                list(files),
                mode="append",
                schema=table.schema(),
                partition_by=[PARTITION_COLUMN],
                commit_properties=properties,
            ),
        )
        self._call("refreshing", table.update_incremental)
        return table.version()

    def files(self, version: int | None = None, as_of: datetime | None = None) -> list[DataFile]:
        """Every data file of the snapshot, with its statistics."""
        snapshot = self.snapshot(version, as_of)
        listed = self._call("listing files", lambda: snapshot.get_add_actions(flatten=True))
        actions = pa.table(listed)
        columns = set(actions.column_names)

        def column(name: str) -> list[Any]:
            return actions.column(name).to_pylist() if name in columns else [None] * len(actions)

        return [
            DataFile(path, size, rows or 0, date, lo, hi, lo_h, hi_h)
            for path, size, rows, date, lo, hi, lo_h, hi_h in zip(
                column("path"),
                column("size_bytes"),
                column("num_records"),
                column(f"partition.{PARTITION_COLUMN}"),
                column("min.created_at"),
                column("max.created_at"),
                column("min.source_hour"),
                column("max.source_hour"),
                strict=True,
            )
        ]

    def dataset(self, version: int | None = None, as_of: datetime | None = None) -> ds.Dataset:
        """The snapshot as a pyarrow dataset (files pruned by partition and statistics)."""
        snapshot = self.snapshot(version, as_of)
        return self._call("reading", lambda: snapshot.to_pyarrow_dataset(as_large_types=True))

    def history(self, limit: int | None = None) -> list[TableCommit]:
        """The table's commits, newest first."""
        entries = self._call("reading the history", lambda: self.table().history(limit))
        return [_commit_of(entry) for entry in entries]

    def compact(
        self, partitions: Sequence[str], target_size: int, *, dry_run: bool
    ) -> CompactionResult:
        """Rewrite the small files of each event date in ``partitions`` into large ones."""
        removed = added = read = 0
        if dry_run:
            files = [f for f in self.files() if f.event_date in set(partitions)]
            small = [f for f in files if f.size < target_size]
            size = sum(f.size for f in small)
            return CompactionResult(tuple(partitions), len(small), 0, size, dry_run=True)
        for date in partitions:
            table = self.table()
            metrics = self._call(
                f"compacting {PARTITION_COLUMN}={date}",
                functools.partial(
                    table.optimize.compact,
                    partition_filters=[(PARTITION_COLUMN, "=", date)],
                    target_size=target_size,
                    writer_properties=WriterProperties(compression="ZSTD"),
                    commit_properties=CommitProperties(max_commit_retries=50),
                ),
            )
            removed += int(metrics.get("numFilesRemoved", 0))
            added += int(metrics.get("numFilesAdded", 0))
            stats = metrics.get("filesRemoved")
            if isinstance(stats, str):  # delta-rs gives the file statistics as JSON text
                stats = orjson.loads(stats)
            read += int(stats.get("totalSize", 0)) if isinstance(stats, dict) else 0
            log.info("partition compacted", extra={"event_date": date, "metrics": metrics})
        return CompactionResult(tuple(partitions), removed, added, read, dry_run=False)

    def vacuum(self, retain_hours: int, *, dry_run: bool) -> list[str]:
        """Delete files no version within ``retain_hours`` references (orphans included)."""
        table = self.table()
        return self._call(
            "vacuuming",
            lambda: table.vacuum(
                retention_hours=retain_hours,
                dry_run=dry_run,
                enforce_retention_duration=False,
                full=True,
            ),
        )

    def exists(self) -> bool:
        """Whether the table has been created."""
        return bool(
            self._call(
                "looking for", lambda: DeltaTable.is_deltatable(self.uri, self.storage_options)
            )
        )


def _commit_of(entry: Mapping[str, Any]) -> TableCommit:
    def as_map(value: object) -> Mapping[str, int]:
        if isinstance(value, str):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return {}

    stamp = entry.get("timestamp")
    moment = datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int) else None
    return TableCommit(
        version=int(entry.get("version", -1)),
        timestamp=moment,
        operation=str(entry.get("operation", "")),
        source_hours=as_map(entry.get("ghlake.source_hours")),
        offsets=as_map(entry.get("ghlake.offsets")),
        parameters=dict(entry.get("operationParameters") or {}),
    )
