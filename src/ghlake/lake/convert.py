"""Converting a lake of the old layout (plain Parquet + bucket checkpoints) into the table, once.

The old layout (before the Delta table) kept zstd Parquet files under
``<prefix>/event_date=D/event_hour=H/`` in the typed schema with unsigned
types and millisecond timestamps, and per Kafka partition a
``_checkpoints/<prefix>/<topic>/p<NNN>/state.json`` whose ``last_offset`` was
the last offset in the lake. Conversion, in order:

1. refuse unless the table holds no data yet (it is done once; a table with
   data would get every event twice, or need the identity check row by row);
2. read each partition's ``last_offset``; rows above it belong to a batch that
   never completed (its files were left by a crash) and are not converted;
3. rewrite each old file in the table's types (:data:`FILE_SCHEMA`) under its
   event date, keeping one row per identity ``(event_key, created_at)`` within
   the date (identities never span dates: ``created_at`` is part of them);
4. one commit: every file, and each partition's ``last_offset`` as its
   transaction version, so the writers resume after it.

The old files are left where they were; delete ``<prefix>/`` and
``_checkpoints/<prefix>/`` once the table is checked (``ghlake lake verify``).
A crash before 4 leaves orphans (vacuum removes them) and the conversion can be
run again.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

from ghlake.errors import InvalidInputError, StorageError
from ghlake.lake.schema import FILE_SCHEMA, PARQUET_OPTIONS, PARTITION_COLUMN, SOURCE_HOURS_KEY
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import LakeTable

__all__ = ["ConversionResult", "convert_parquet_layout"]

log = logging.getLogger(__name__)

_OLD_FILE = re.compile(r"/event_date=(\d{4}-\d{2}-\d{2})/event_hour=\d{2}/([^/]+)\.parquet$")
_SECONDS = pa.timestamp("s", tz="UTC")


@dataclass(frozen=True)
class ConversionResult:
    """What a conversion read and committed."""

    files_read: int
    rows_read: int
    rows_written: int
    rows_uncommitted: int  # above a partition's last_offset: an incomplete old batch
    duplicates: int
    offsets: dict[int, int]
    version: int | None  # None in a dry run


def _old_offsets(store: ObjectStore, prefix: str, topic: str) -> dict[int, int]:
    offsets = {}
    root = f"_checkpoints/{prefix}/{topic}/"
    pattern = re.compile(rf"^{re.escape(root)}p(\d+)/state\.json$")
    for info in store.list(root):
        match = pattern.match(info.key)
        if match is None:
            continue
        state = orjson.loads(store.get(info.key))
        if not isinstance(state, dict) or not isinstance(state.get("last_offset"), int):
            raise StorageError(f"{info.key} has no last_offset; inspect it")
        offsets[int(match.group(1))] = state["last_offset"]
    return offsets


def _stats(table: pa.Table) -> str:
    created = table.column("created_at")
    hours = table.column("source_hour")
    partitions = table.column("kafka_partition")

    def stamp(value: object) -> str:
        return f"{value:%Y-%m-%dT%H:%M:%S.000Z}"

    return orjson.dumps({
        "numRecords": table.num_rows,
        "minValues": {"created_at": stamp(pc.min(created).as_py()),
                      "source_hour": pc.min(hours).as_py(),
                      "kafka_partition": pc.min(partitions).as_py()},
        "maxValues": {"created_at": stamp(pc.max(created).as_py()),
                      "source_hour": pc.max(hours).as_py(),
                      "kafka_partition": pc.max(partitions).as_py()},
        "nullCount": {"created_at": 0, "source_hour": 0, "kafka_partition": 0},
    }).decode()  # fmt: skip


def convert_parquet_layout(
    store: ObjectStore, table: LakeTable, topic: str, prefix: str, *, dry_run: bool = False
) -> ConversionResult:
    """Convert the old layout under ``prefix`` into ``table`` (steps in the module docstring)."""
    if table.version() > 0:  # 1. (version 0 creates the table)
        raise InvalidInputError(
            f"{table.uri} holds data already: convert into a new table (GHLAKE_LAKE__TABLE)"
        )
    offsets = _old_offsets(store, prefix, topic)  # 2.
    by_date: dict[str, list[str]] = defaultdict(list)
    for info in store.list(f"{prefix}/"):
        match = _OLD_FILE.search(f"/{info.key}")
        if match is not None:
            by_date[match.group(1)].append(info.key)
    nonce = secrets.token_hex(4)
    actions: list[AddAction] = []
    files = rows_read = written = uncommitted = duplicates = 0
    for date, keys in sorted(by_date.items()):  # 3.
        seen: set[tuple[int, int]] = set()
        for key in sorted(keys):
            old = pq.read_table(io.BytesIO(store.get(key)))
            files += 1
            rows_read += old.num_rows
            parts = old.column("kafka_partition").to_pylist()
            offs = old.column("kafka_offset").to_pylist()
            ids = old.column("event_key").to_pylist()
            secs = old.column("created_at").cast(_SECONDS, safe=False).cast(pa.int64()).to_pylist()
            keep = []
            for part, off, key_, sec in zip(parts, offs, ids, secs, strict=True):
                if off > offsets.get(part, -1):
                    uncommitted += 1
                    keep.append(False)
                elif (key_, sec) in seen:
                    duplicates += 1
                    keep.append(False)
                else:
                    seen.add((key_, sec))
                    keep.append(True)
            new = old.filter(pa.array(keep)).select(FILE_SCHEMA.names).cast(FILE_SCHEMA)
            if new.num_rows == 0:
                continue
            written += new.num_rows
            name = key.rsplit("/", 1)[1].removesuffix(".parquet")
            path = f"{PARTITION_COLUMN}={date}/converted-{name}-{nonce}.parquet"
            sink = io.BytesIO()
            counted = pc.value_counts(new.column("source_hour")).to_pylist()
            counts = dict(sorted((c["values"], c["counts"]) for c in counted))
            metadata = {SOURCE_HOURS_KEY: orjson.dumps(counts).decode()}
            pq.write_table(new.replace_schema_metadata(metadata), sink, **PARQUET_OPTIONS)
            data = sink.getvalue()
            if not dry_run:
                store.put(f"{table.prefix}/{path}", data)
            actions.append(
                AddAction(
                    path,
                    len(data),
                    {PARTITION_COLUMN: date},
                    int(time.time() * 1000),
                    True,
                    _stats(new),
                )
            )
    version = None
    if not dry_run and (actions or offsets):  # 4.
        metadata = {"ghlake.converted_from": prefix, "ghlake.offsets": orjson.dumps(
            {str(p): [0, o] for p, o in sorted(offsets.items())}).decode()}  # fmt: skip
        version = table.commit(actions, offsets, topic, metadata)
    log.info(
        "old lake layout converted" if not dry_run else "old lake layout read (dry run)",
        extra={"files": files, "rows": written, "uncommitted": uncommitted,
               "duplicates": duplicates, "version": version},
    )  # fmt: skip
    return ConversionResult(
        files, rows_read, written, uncommitted, duplicates, dict(sorted(offsets.items())), version
    )
