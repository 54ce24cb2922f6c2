"""Per-partition checkpoints in the bucket: a batch is wholly in the lake or not at all.

Object names carry the offset range of a batch, but after a crash between the
upload and the offset commit the records come back in batches cut elsewhere,
so names alone cannot prevent duplicates. Each Kafka partition therefore has
two small objects under ``_checkpoints/<prefix>/<topic>/p<NNN>/``:

``state.json``
    the last offset whose event is in the lake (a commit record, written after
    the data objects and before the Kafka offset commit);
``intent.json``
    the batch being written: its offset range and the keys of its objects,
    written before them.

For one partition's share of a batch the writer does, in order:

1. **recover**: read both; an intent beyond ``state.last_offset`` is a batch
   that never completed (kill -9, a store failure, a crash), so its objects are
   deleted, then the intent;
2. **skip** records at or below ``state.last_offset``: a crash came after their
   commit record and before the Kafka commit, so they are in the lake already;
   they are acknowledged, not written again;
3. write the intent, 4. the data objects, 5. (the sink publishes dead
   letters: after an interrupted batch, only those the dead-letter topic does
   not hold already, found by reading it back from the intent's start time),
   6. the state, and delete the intent; 7. the consumer commits the offsets.

A crash before 6 leaves an intent that the next owner of the partition
removes with its objects (1), and the records are written again from the
committed offset, whatever the new batch boundaries; a crash after 6 leaves
records that the next owner skips (2). Either way each event is in the lake
once. The protocol relies on one writer per partition at a time, which the
consumer group gives: the lake consumer never writes a partition it no longer
holds (:mod:`ghlake.lake.consumer`). Replaying the topic into an existing
lake therefore adds nothing; to rebuild the lake, delete ``<prefix>/`` and
``_checkpoints/<prefix>/`` first. Checkpoints belong to one incarnation of
the topic: a topic deleted and created again restarts its offsets at 0 and
needs its checkpoints removed too.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ghlake.errors import StorageError
from ghlake.lake.schema import checkpoint_prefix
from ghlake.lake.store import ObjectStore

__all__ = ["Checkpoints", "Intent", "Recovery"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intent:
    """A batch being written for one partition."""

    partition: int
    first: int
    last: int
    keys: tuple[str, ...]
    started_at: datetime | None = None  # when it was recorded (read back from the store)


@dataclass(frozen=True)
class Recovery:
    """What recovering one partition found and did."""

    partition: int
    last_offset: int  # -1 when nothing of this partition is in the lake yet
    removed: tuple[str, ...]  # objects of an incomplete batch that were deleted
    # When the incomplete batch began: its dead letters, if any, were published after.
    interrupted_at: datetime | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Checkpoints:
    """The checkpoint objects of one topic's partitions under one lake prefix."""

    def __init__(self, store: ObjectStore, prefix: str, topic: str) -> None:
        self.store = store
        self.prefix = prefix
        self.topic = topic
        self.writer = f"{socket.gethostname()}:{os.getpid()}"

    def _key(self, partition: int, name: str) -> str:
        return f"{checkpoint_prefix(self.prefix, self.topic, partition)}/{name}.json"

    def _read(self, partition: int, name: str) -> dict[str, object] | None:
        key = self._key(partition, name)
        data = self.store.get_if_exists(key)
        if data is None:
            return None
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise StorageError(f"checkpoint {key} is not JSON; inspect or remove it") from exc
        if not isinstance(value, dict):
            raise StorageError(f"checkpoint {key} is not a JSON object; inspect or remove it")
        return value

    def last_offset(self, partition: int) -> int:
        """The last offset of ``partition`` whose event is in the lake (-1: none)."""
        state = self._read(partition, "state")
        if state is None:
            return -1
        last = state.get("last_offset")
        if not isinstance(last, int):
            raise StorageError(f"checkpoint {self._key(partition, 'state')} has no last_offset")
        return last

    def pending(self, partition: int) -> Intent | None:
        """The intent of ``partition``, if one is recorded."""
        value = self._read(partition, "intent")
        if value is None:
            return None
        first, last, keys = value.get("first"), value.get("last"), value.get("keys")
        started = value.get("started_at")
        if not (isinstance(first, int) and isinstance(last, int) and isinstance(keys, list)
                and isinstance(started, str)):  # fmt: skip
            raise StorageError(f"checkpoint {self._key(partition, 'intent')} is malformed")
        try:
            started_at = datetime.fromisoformat(started)
        except ValueError as exc:
            raise StorageError(f"checkpoint {self._key(partition, 'intent')} is malformed") from exc
        return Intent(partition, first, last, tuple(str(k) for k in keys), started_at)

    def recover(self, partition: int) -> Recovery:
        """Remove what an incomplete batch of ``partition`` left; return the last stored offset."""
        last = self.last_offset(partition)
        intent = self.pending(partition)
        removed: tuple[str, ...] = ()
        interrupted_at = None
        if intent is not None:
            if intent.last > last:
                for key in intent.keys:
                    self.store.delete(key)
                removed = intent.keys
                interrupted_at = intent.started_at
                log.warning(
                    "removed the objects of an incomplete batch",
                    extra={"partition": partition, "first_offset": intent.first,
                           "last_offset": intent.last, "objects": len(removed),
                           "stored_offset": last},
                )  # fmt: skip
            self.store.delete(self._key(partition, "intent"))
        return Recovery(partition, last, removed, interrupted_at)

    def begin(self, intent: Intent) -> None:
        """Record ``intent`` before any of its objects is written."""
        body = {"topic": self.topic, "partition": intent.partition, "first": intent.first,
                "last": intent.last, "keys": list(intent.keys), "writer": self.writer,
                "started_at": _now()}  # fmt: skip
        self.store.put(
            self._key(intent.partition, "intent"), orjson.dumps(body), "application/json"
        )

    def commit(self, intent: Intent) -> None:
        """Record that every object of ``intent`` is stored; then drop the intent."""
        body = {"topic": self.topic, "partition": intent.partition, "last_offset": intent.last,
                "batch_first": intent.first, "keys": list(intent.keys), "writer": self.writer,
                "committed_at": _now()}  # fmt: skip
        self.store.put(self._key(intent.partition, "state"), orjson.dumps(body), "application/json")
        self.store.delete(self._key(intent.partition, "intent"))
