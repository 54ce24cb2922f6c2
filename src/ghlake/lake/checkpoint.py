"""The lake's recovery protocol: a batch and its offsets in one Delta commit.

The lake is a Delta table (:mod:`ghlake.lake.table`). Each Kafka partition of
the topic has an application transaction in the table, app id
``<topic>-p<partition>``, whose version is the last offset of that partition
whose record the table holds. It changes only in the commit that adds the
batch's files, so the table alone says, atomically, what is in the lake.

For one batch the writer does, in order:

1. **recover**: read each partition's transaction version from the latest
   table (the *stored offset*), and the partition's dead-letter mark, if an
   earlier attempt left one;
2. **skip** records at or below the stored offset: a crash came after their
   commit and before the Kafka offset commit; they are acknowledged, not
   written again. Normalize the rest; drop an event whose identity
   ``(event_key, created_at)`` the table already holds, or that came earlier
   in the batch (:mod:`ghlake.lake.dedup`): a re-published event is stored once;
3. write the dead-letter mark of each partition with dead letters (when the
   attempt started), 4. the data files (named with a nonce: never
   overwritten; not part of the table until 6), 5. publish the dead letters
   (after an interrupted attempt, only those the dead-letter topic does not
   hold already, found by reading it back from the mark's start time);
6. **commit**: one Delta commit with the files, each partition's last offset
   as its transaction version and the batch's count per source hour as commit
   metadata; then delete the dead-letter marks; 7. the consumer commits the
   Kafka offsets.

A crash before 6 leaves files that no version names: orphans, invisible to
every reader, which ``ghlake lake vacuum`` deletes; the records are read again
from the stored offset, whatever the new batch boundaries. A crash after 6
leaves records that the next owner skips (2). Either way each event is in the
table once. On every assignment the consumer seeks each partition to its
stored offset + 1 (:mod:`ghlake.lake.consumer`), so the Kafka offsets are only
a hint. A commit that fails after reaching the store (the answer lost) is
recognised before it is retried: the table's version for the batch's
partitions already covers it (:meth:`ghlake.lake.writer.LakeWriter.commit`).

Replaying the topic into the table adds nothing; to rebuild the lake, delete
the table's folder and ``_checkpoints/<table>/`` first. The transactions belong
to one incarnation of the topic: a topic created again restarts at offset 0
and needs a new table (or ``GHLAKE_LAKE__TABLE``).

What stays in the bucket beside the table is this module's
:class:`DeadLetterMarks`: dead letters go to a Kafka topic, not to the table,
so only a mark says that an attempt may have published some of them.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

import orjson

from ghlake.errors import StorageError
from ghlake.lake.schema import checkpoint_prefix
from ghlake.lake.store import ObjectStore

__all__ = ["DeadLetterMarks"]

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DeadLetterMarks:
    """The dead-letter marks of one topic's partitions (steps 1, 3 and 6)."""

    def __init__(self, store: ObjectStore, table: str, topic: str) -> None:
        self.store = store
        self.table = table
        self.topic = topic
        self.writer = f"{socket.gethostname()}:{os.getpid()}"

    def _key(self, partition: int) -> str:
        return f"{checkpoint_prefix(self.table, self.topic, partition)}/dead-letters.json"

    def pending(self, partition: int) -> datetime | None:
        """When an attempt that may have published dead letters of ``partition`` began."""
        key = self._key(partition)
        data = self.store.get_if_exists(key)
        if data is None:
            return None
        try:
            value = orjson.loads(data)
            return datetime.fromisoformat(value["started_at"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            message = f"dead-letter mark {key} is malformed; inspect or remove it"
            raise StorageError(message) from exc

    def begin(self, partition: int, first: int, last: int) -> None:
        """Record that an attempt at ``first..last`` of ``partition`` publishes dead letters."""
        body = {"topic": self.topic, "partition": partition, "first": first, "last": last,
                "writer": self.writer, "started_at": _now()}  # fmt: skip
        self.store.put(self._key(partition), orjson.dumps(body), "application/json")

    def clear(self, partition: int) -> None:
        """The batch is committed: its dead letters need no reading back."""
        self.store.delete(self._key(partition))
