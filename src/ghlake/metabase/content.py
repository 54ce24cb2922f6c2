"""ghlake's Metabase content as data: ``metabase/content.toml`` and ``metabase/cards/*.sql``.

A card is a native SQL question whose ``{{tag}}`` variables are declared with a type
(``number``, ``text``, ``date``) and a default; a dashboard places cards on Metabase's
24-column grid and turns every tag of its cards into a dashboard filter.
:func:`rendered` substitutes the defaults as Metabase does, so the tests can run each
card's SQL through the real ClickHouse JDBC driver.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ghlake.errors import ConfigError

__all__ = ["Card", "Content", "DashCard", "Dashboard", "Tag", "load_content", "rendered"]

_TAG = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TYPES = {"number", "text", "date"}


@dataclass(frozen=True)
class Tag:
    """A card variable: ``{{name}}`` in its SQL."""

    name: str
    type: str
    default: str
    label: str


@dataclass(frozen=True)
class Card:
    """A native SQL question."""

    key: str
    title: str
    sql: str
    display: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class DashCard:
    """A card's place on a dashboard's grid."""

    card: str
    row: int
    col: int
    width: int
    height: int


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: its cards, and seconds between auto-refreshes (0: none)."""

    key: str
    title: str
    cards: tuple[DashCard, ...]
    refresh: int = 0


@dataclass(frozen=True)
class Content:
    """Everything provisioned: the connection's and collection's names, cards, dashboards."""

    database: str
    collection: str
    cards: dict[str, Card]
    dashboards: dict[str, Dashboard]


def load_content(folder: Path) -> Content:
    """The content of a ``metabase/`` folder, checked (every tag declared, every card known)."""
    raw = tomllib.loads((folder / "content.toml").read_text())
    cards = {}
    for key, spec in raw.get("cards", {}).items():
        # A card is cards/<key>.sql, or the file it names (a warehouse named query, shared).
        sql = (folder / spec.get("sql", f"cards/{key}.sql")).read_text()
        tags = tuple(
            Tag(name, t["type"], str(t["default"]), t.get("label", name))
            for name, t in spec.get("tags", {}).items()
        )
        used, declared = set(_TAG.findall(sql)), {t.name for t in tags}
        if used != declared or any(t.type not in _TYPES for t in tags):
            raise ConfigError(f"card {key}: tags used {sorted(used)}, declared {sorted(declared)}")
        cards[key] = Card(key, spec["title"], sql, spec.get("display", "table"), tags)
    dashboards = {}
    for key, spec in raw.get("dashboards", {}).items():
        placed = tuple(DashCard(c[0], *map(int, c[1:5])) for c in spec["cards"])
        unknown = [p.card for p in placed if p.card not in cards]
        if unknown:
            raise ConfigError(f"dashboard {key} places unknown cards {unknown}")
        dashboards[key] = Dashboard(key, spec["title"], placed, int(spec.get("refresh", 0)))
    return Content(raw["database"], raw["collection"], cards, dashboards)


def rendered(card: Card, values: dict[str, str] | None = None) -> str:
    """The card's SQL with its variables replaced as Metabase does (defaults unless given)."""
    given = {t.name: (values or {}).get(t.name, t.default) for t in card.tags}
    kinds = {t.name: t.type for t in card.tags}

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        value = given[name]
        if kinds[name] == "number":
            return str(float(value)) if "." in value else str(int(value))
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return _TAG.sub(literal, card.sql)
