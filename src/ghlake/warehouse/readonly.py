"""Untrusted SQL, run by ClickHouse itself in read-only mode within limits.

The SQL endpoint does not inspect the text for dangerous words. ClickHouse does the
work, in two steps:

1. It parses the text (passed as a bound parameter to ``formatQuerySingleLine``):
   exactly one statement, rendered back from its syntax tree, so comments and any
   trailing text are gone and every parenthesis and quote is balanced.
2. That canonical statement runs as a subquery, ``SELECT * FROM (<statement>)``,
   whose query-level SETTINGS switch the query context to ``readonly = 1`` with a
   time, memory and result-size budget. INSERT, DROP, SET, SYSTEM and the like are not
   a query expression and cannot stand there; what a SELECT can reach that writes or
   leaves the database (``file()``, ``url()``, ``s3()``, ``executable()``, ``remote()``,
   INTO OUTFILE) and any SETTINGS clause that would lift a limit, ClickHouse refuses in
   read-only mode ("Cannot execute query in readonly mode", "Cannot modify ... setting
   in readonly mode").

The settings are query-level: they do not leak into the session that the Kafka engine
and the named queries share. A clickhouse-server applies the same settings per query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ghlake.errors import InvalidInputError

__all__ = [
    "DEFAULT_LIMITS",
    "ReadOnlyLimits",
    "ReadOnlyResult",
    "read_only_settings",
    "read_only_statement",
]


@dataclass(frozen=True)
class ReadOnlyLimits:
    """The budget of one untrusted query."""

    max_rows: int = 10_000
    max_seconds: float = 10.0
    max_memory_bytes: int = 2 * 1024**3
    max_rows_to_read: int = 2_000_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_rows <= 1_000_000:
            raise InvalidInputError(f"max_rows must be 1..1000000, not {self.max_rows}")
        if not 0 < self.max_seconds <= 600:
            raise InvalidInputError(f"max_seconds must be in (0, 600], not {self.max_seconds}")

    def capped_by(self, ceiling: ReadOnlyLimits) -> ReadOnlyLimits:
        """These limits, none above ``ceiling``'s."""
        return ReadOnlyLimits(
            max_rows=min(self.max_rows, ceiling.max_rows),
            max_seconds=min(self.max_seconds, ceiling.max_seconds),
            max_memory_bytes=min(self.max_memory_bytes, ceiling.max_memory_bytes),
            max_rows_to_read=min(self.max_rows_to_read, ceiling.max_rows_to_read),
        )


DEFAULT_LIMITS = ReadOnlyLimits()


@dataclass(frozen=True)
class ReadOnlyResult:
    """Column names, rows (as lists) and whether the row limit cut the result."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


def read_only_settings(limits: ReadOnlyLimits) -> dict[str, int | float | str]:
    """The query-level settings that make ClickHouse run a query read-only within ``limits``."""
    return {
        "readonly": 1,
        "max_execution_time": limits.max_seconds,
        "timeout_overflow_mode": "throw",
        "max_memory_usage": limits.max_memory_bytes,
        "max_rows_to_read": limits.max_rows_to_read,
        # One row past the limit tells the caller the result was cut.
        "max_result_rows": limits.max_rows + 1,
        "result_overflow_mode": "break",
    }


def _setting_literal(value: int | float | str) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def read_only_statement(canonical: str, limits: ReadOnlyLimits) -> str:
    """``canonical`` (one statement as ClickHouse formatted it) wrapped to run read-only."""
    settings = ", ".join(
        f"{name} = {_setting_literal(value)}" for name, value in read_only_settings(limits).items()
    )
    return f"SELECT * FROM (\n{canonical}\n)\nLIMIT {limits.max_rows + 1}\nSETTINGS {settings}"
