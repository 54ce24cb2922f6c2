"""The named queries in ``queries/``: one ``.sql`` file each, parameters bound by ClickHouse.

A query names typed placeholders (``{since:Date}``, ``{repo:String}``); the values
travel separately (see :mod:`ghlake.warehouse.engine`), never formatted into the text.
"""

from __future__ import annotations

import re
from importlib import resources

from ghlake.errors import InvalidInputError

__all__ = ["named_query", "query_names"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def query_names() -> list[str]:
    """Every named query."""
    folder = resources.files("ghlake.warehouse") / "queries"
    return sorted(f.name.removesuffix(".sql") for f in folder.iterdir() if f.name.endswith(".sql"))


def named_query(name: str) -> str:
    """The SQL of a named query in ``queries/``."""
    folder = resources.files("ghlake.warehouse") / "queries"
    path = folder / f"{name}.sql"
    if not _NAME.match(name) or not path.is_file():
        raise InvalidInputError(f"no named query {name!r}")
    return path.read_text()
