"""The warehouse DDL in ``clickhouse/``, rendered for embedded chDB or a clickhouse-server.

One set of SQL files serves both targets (see clickhouse/README.md)::

    clickhouse/bootstrap.sql        the database and the schema_migrations ledger
    clickhouse/migrations/NNNN_*.sql versioned, applied once each, in order
    clickhouse/pipeline/*.sql       the Kafka engine table and its materialized views;
                                    recreated whenever their rendered text changes
    clickhouse/pipeline/_*.sql      expression fragments shared by pipeline files

The files are templates: ``${database}``, ``${topic}`` and the like are identifiers and
settings from validated configuration, never user input. Only the Kafka engine's
consumer settings differ between targets.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

from ghlake.errors import ConfigError
from ghlake.events.schema import EVENT_TYPES
from ghlake.settings import Settings

__all__ = [
    "Migration",
    "PipelineDdl",
    "Target",
    "bootstrap_statements",
    "clickhouse_dir",
    "load_migrations",
    "render_pipeline",
    "split_statements",
]

Target = Literal["embedded", "server"]

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")
_REPLAY_MARK = "-- ghlake: replay-topic"


@dataclass(frozen=True)
class Migration:
    """One versioned migration file, rendered."""

    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str  # of the file as written (before rendering), so settings do not change it
    replay: bool  # rewind the consumer group afterwards: the table must be rebuilt from the topic


@dataclass(frozen=True)
class PipelineDdl:
    """The Kafka engine table and its views, rendered, with a checksum of the rendered text."""

    statements: tuple[str, ...]
    checksum: str


def clickhouse_dir(settings: Settings) -> Path:
    """The ``clickhouse/`` folder of the checkout."""
    folder = settings.root / "clickhouse"
    if not (folder / "bootstrap.sql").is_file():
        raise ConfigError(f"no warehouse DDL in {folder} (expected bootstrap.sql, migrations/)")
    return folder


def split_statements(text: str) -> list[str]:
    """Statements of a file: separated by ``;`` at the end of a line; comment-only parts dropped."""
    statements = []
    for chunk in _STATEMENT_END.split(text):
        code = [line for line in chunk.splitlines() if not line.lstrip().startswith("--")]
        if "".join(code).strip():
            statements.append(chunk.strip())
    return statements


def _values(settings: Settings, target: Target) -> dict[str, str]:
    warehouse = settings.warehouse
    flush = warehouse.flush_interval_ms
    # Embedded: warehouse.consumers (1 by default) in the one process that owns chDB. A
    # server gets one consumer per topic partition (the most that can be busy). More than
    # one consumer: each on its own thread, flushing its own blocks.
    consumers = warehouse.consumers if target == "embedded" else settings.kafka.partitions
    return {
        "database": warehouse.database,
        "bootstrap": settings.kafka.bootstrap,
        "topic": settings.kafka.topic,
        "consumer_group": warehouse.consumer_group,
        "dead_letter_topic": settings.kafka.dead_letter_topic,
        "dead_letter_group": f"{warehouse.consumer_group}-dead-letters",
        "flush_interval_ms": str(flush),
        "poll_timeout_ms": str(min(flush, 500)),
        "max_block_size": str(warehouse.max_block_size),
        "num_consumers": str(consumers),
        "thread_per_consumer": "1" if target == "server" or consumers > 1 else "0",
        "known_types": ", ".join(f"'{name}'" for name in EVENT_TYPES),
    }


def _render(text: str, values: dict[str, str], where: Path) -> str:
    try:
        return Template(text).substitute(values)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{where}: unknown or malformed placeholder {exc}") from exc


def bootstrap_statements(settings: Settings, target: Target = "embedded") -> list[str]:
    """The database and the schema_migrations table."""
    path = clickhouse_dir(settings) / "bootstrap.sql"
    return split_statements(_render(path.read_text(), _values(settings, target), path))


def load_migrations(settings: Settings, target: Target = "embedded") -> list[Migration]:
    """Every migration in version order, rendered for ``target``."""
    folder = clickhouse_dir(settings) / "migrations"
    values = _values(settings, target)
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise ConfigError(f"{path.name}: migration files are named NNNN_name.sql")
        text = path.read_text()
        migrations.append(
            Migration(
                version=int(match.group(1)),
                name=path.stem,
                statements=tuple(split_statements(_render(text, values, path))),
                checksum=hashlib.sha256(text.encode()).hexdigest()[:16],
                replay=_REPLAY_MARK in text,
            )
        )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ConfigError(f"two migrations share a version in {folder}")
    return migrations


def render_pipeline(settings: Settings, target: Target = "embedded") -> PipelineDdl:
    """The Kafka engine table and the views that read it, rendered for ``target``."""
    folder = clickhouse_dir(settings) / "pipeline"
    values = _values(settings, target)
    for fragment in sorted(folder.glob("_*.sql")):
        code = "\n".join(
            line for line in fragment.read_text().splitlines() if not line.startswith("--")
        )
        values[fragment.stem.lstrip("_")] = _render(code.strip(), values, fragment)
    statements: list[str] = []
    for path in sorted(p for p in folder.glob("*.sql") if not p.name.startswith("_")):
        statements += split_statements(_render(path.read_text(), values, path))
    checksum = hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()[:16]
    return PipelineDdl(tuple(statements), checksum)
