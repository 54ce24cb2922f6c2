"""Applying the warehouse DDL in ``ddl/`` to an engine, in file order.

The statements are templates: ``${database}``, ``${topic}`` and the like are
identifiers and settings from validated configuration, never user input.
"""

from __future__ import annotations

from importlib import resources
from string import Template

from ghlake.settings import Settings
from ghlake.warehouse.engine import ChdbEngine

__all__ = ["KNOWN_EVENT_TYPES", "apply_schema", "named_query", "render_ddl"]

# The event_type Enum of the public dataset, in its numbering.
KNOWN_EVENT_TYPES = (
    "CommitCommentEvent", "CreateEvent", "DeleteEvent", "ForkEvent", "GollumEvent",
    "IssueCommentEvent", "IssuesEvent", "MemberEvent", "PublicEvent", "PullRequestEvent",
    "PullRequestReviewCommentEvent", "PushEvent", "ReleaseEvent", "SponsorshipEvent",
    "WatchEvent", "GistEvent", "FollowEvent", "DownloadEvent", "PullRequestReviewEvent",
    "ForkApplyEvent", "Event", "TeamAddEvent",
)  # fmt: skip


def render_ddl(settings: Settings) -> list[tuple[str, str]]:
    """(file name, statement) for every DDL file, rendered for ``settings``."""
    values = {
        "database": settings.warehouse.database,
        "bootstrap": settings.kafka.bootstrap,
        "topic": settings.kafka.topic,
        "consumer_group": settings.warehouse.consumer_group,
        "flush_interval_ms": str(settings.warehouse.flush_interval_ms),
        "known_types": ", ".join(f"'{name}'" for name in KNOWN_EVENT_TYPES),
    }
    folder = resources.files("ghlake.warehouse") / "ddl"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name, Template(f.read_text()).substitute(values)) for f in files]


def apply_schema(engine: ChdbEngine, settings: Settings) -> list[str]:
    """Create every table and view that does not exist yet; return the files applied."""
    applied = []
    for name, statement in render_ddl(settings):
        engine.execute(statement)
        applied.append(name)
    engine.execute(f"USE {settings.warehouse.database}")
    return applied


def named_query(name: str) -> str:
    """The SQL of a named query in ``queries/``."""
    folder = resources.files("ghlake.warehouse") / "queries"
    path = folder / f"{name}.sql"
    if not name.replace("_", "").isalnum() or not path.is_file():
        from ghlake.errors import InvalidInputError  # noqa: PLC0415

        raise InvalidInputError(f"no named query {name!r}")
    return path.read_text()
