"""The ledger's tables (SQLAlchemy Core): one definition for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["hours", "jobs", "metadata", "polls", "topic_replays"]

metadata = MetaData()

# One row per GH Archive hour; the latest attempt wins.
hours = Table(
    "ledger_hours",
    metadata,
    Column("hour", String(16), primary_key=True),  # GH Archive name, e.g. 2015-01-01-1
    Column("hour_start", DateTime(timezone=True), nullable=False, index=True),
    # a ghlake.ledger.status.HourStatus
    Column("status", String(16), nullable=False, index=True),
    Column("source", Text, nullable=False, default=""),
    Column("lines", BigInteger, nullable=False, default=0),
    Column("valid", BigInteger, nullable=False, default=0),
    Column("recovered", BigInteger, nullable=False, default=0),
    Column("dead_lettered", BigInteger, nullable=False, default=0),
    Column("duplicates", BigInteger, nullable=False, default=0),
    Column("bytes", BigInteger, nullable=False, default=0),  # compressed size of the file
    Column("raw_bytes", BigInteger, nullable=False, default=0),  # uncompressed bytes read
    Column("sha256", String(64), nullable=False, default=""),
    Column("offsets", JSON, nullable=False, default=dict),  # partition -> [first, last] published
    Column("attempts", Integer, nullable=False, default=0),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("seconds", Float, nullable=False, default=0.0),
    Column("error", Text),
)

# One row per poll of the live Events API.
polls = Table(
    "ledger_polls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("window_start", DateTime(timezone=True), nullable=False, index=True),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("pages", Integer, nullable=False, default=0),
    Column("not_modified", Integer, nullable=False, default=0),
    Column("received", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("published", Integer, nullable=False, default=0),
    Column("rate_remaining", Integer),
)

# Replay jobs started through the API; they survive a restart of the API.
jobs = Table(
    "replay_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False, index=True),  # a JobStatus
    Column("source", Text, nullable=False),
    Column("first_hour", String(16), nullable=False),
    Column("last_hour", String(16), nullable=False),
    Column("speed", Float),  # None: as fast as possible
    Column("force", Integer, nullable=False, default=0),
    Column("hours_total", Integer, nullable=False),
    Column("hours_done", Integer, nullable=False, default=0),
    Column("published", BigInteger, nullable=False, default=0),
    Column("dead_lettered", BigInteger, nullable=False, default=0),
    Column("current_hour", String(16)),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Topic replays (rebuilding the lake or the warehouse from the retained topic), started
# through the API or the CLI; they survive a restart of the API.
topic_replays = Table(
    "topic_replays",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False, index=True),  # a JobStatus
    Column("store", String(16), nullable=False),  # lake, warehouse or both
    Column("from_time", DateTime(timezone=True), nullable=False),
    Column("to_time", DateTime(timezone=True), nullable=False),
    Column("messages", BigInteger, nullable=False, default=0),  # in the range, all partitions
    Column("events", BigInteger, nullable=False, default=0),  # read from the range so far
    Column("lake_added", BigInteger, nullable=False, default=0),  # events the lake lacked
    Column("lake_present", BigInteger, nullable=False, default=0),  # held already: not added
    Column("warehouse_deleted", BigInteger, nullable=False, default=0),  # the range's old rows
    Column("warehouse_inserted", BigInteger, nullable=False, default=0),  # rows read again
    Column("days", JSON, nullable=False, default=list),  # days whose aggregates were rebuilt
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
