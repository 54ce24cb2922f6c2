"""The embedded ClickHouse engine (chDB) behind one small seam.

chDB runs ClickHouse inside this process. Only one process may open a data
path, so the warehouse service owns the engine and everything else talks to
that service (see :mod:`ghlake.warehouse.client`). Threads share one session
behind a lock.

Parameters are bound by ClickHouse, never formatted into the statement: the
query names typed placeholders (``{hours:Array(String)}``) and the values
travel as ``param_<name>`` session settings, which the engine parses as the
declared type. chDB 3.7.2, the version whose Kafka engine consumes, has no
``params=`` argument (clickhouse-connect's chDB backend needs it), so the
settings are set under the session lock right before the query.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson
from chdb import session as chdb_session

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.warehouse.readonly import ReadOnlyLimits, ReadOnlyResult, read_only_statement
from ghlake.warehouse.wire import ClickHouseError

__all__ = ["ChdbEngine", "Engine", "param_text"]


class Engine(Protocol):
    """What the warehouse needs from a ClickHouse: embedded chDB or a server."""

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing."""

    def rows(self, sql: str, params: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Rows of a query with bound parameters."""

    def read_only(self, sql: str, limits: ReadOnlyLimits) -> ReadOnlyResult:
        """Rows of an untrusted query, run by the engine in read-only mode within limits."""

    def canonical(self, sql: str) -> str:
        """``sql`` parsed and printed back by ClickHouse: one statement, on one line."""

    def raw(
        self, statement: str, fmt: str, params: Mapping[str, str], database: str | None = None
    ) -> bytes:
        """A statement's result in ``fmt``, ``params`` (ClickHouse text form) bound."""

    def close(self) -> None:
        """Release the engine."""


_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def _escape(text: str) -> str:
    """Backslash escapes of ClickHouse's escaped text format (as in TSV)."""
    return text.translate(_ESCAPES)


def _quote(text: str) -> str:
    """A string element inside an array's text form: ``'it\\'s'``."""
    return "'" + _escape(text).replace("'", "\\'") + "'"


def _sql_literal(text: str) -> str:
    """A SQL string literal whose value is exactly ``text``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def param_text(value: object) -> str:
    """A value in ClickHouse's text form for a query parameter of the matching type."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, Sequence):
        inner = ",".join(
            _quote(item) if isinstance(item, str) else param_text(item) for item in value
        )
        return f"[{inner}]"
    raise InvalidInputError(f"cannot bind a {type(value).__name__} as a query parameter")


class ChdbEngine:
    """A persistent chDB session on a data path."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._session = chdb_session.Session(str(path))
        except Exception as exc:
            raise WarehouseError(f"cannot open the chDB data path {path}: {exc}") from exc

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing (DDL, SET, INSERT ... SELECT)."""
        with self._lock:
            self._run(sql, "CSV")

    def rows(self, sql: str, params: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Run a query with bound ``params``; return its rows as dicts."""
        with self._lock:
            for name, value in (params or {}).items():
                if not _PARAM_NAME.match(name):
                    raise InvalidInputError(f"{name!r} is not a valid parameter name")
                self._run(f"SET param_{name} = {_sql_literal(param_text(value))}", "CSV")
            data = self._run(sql, "JSONEachRow")
        return [orjson.loads(line) for line in data.splitlines() if line]

    def read_only(self, sql: str, limits: ReadOnlyLimits) -> ReadOnlyResult:
        """Rows of an untrusted ``sql``, run by ClickHouse with ``readonly = 1`` and limits.

        ClickHouse parses the text first (as a bound parameter, so nothing of it is
        executed): one statement, comments gone. That canonical statement runs as a
        subquery whose SETTINGS put the query context in read-only mode with time,
        memory and row limits (see :mod:`ghlake.warehouse.readonly`).
        """
        with self._lock:
            self._run(f"SET param_untrusted_sql = {_sql_literal(param_text(sql))}", "CSV")
            try:
                canonical = self._run(
                    "SELECT formatQuerySingleLine({untrusted_sql:String})", "TSVRaw"
                ).decode()
            except WarehouseError as exc:
                raise InvalidInputError(f"not one SQL statement: {_first_line(exc)}") from exc
            statement = read_only_statement(canonical.rstrip("\n"), limits)
            try:
                data = self._run(statement, "JSONCompactEachRowWithNames")
            except WarehouseError as exc:
                raise InvalidInputError(f"refused: {_first_line(exc)}") from exc
        lines = data.splitlines()
        columns: list[str] = orjson.loads(lines[0]) if lines else []
        rows = [orjson.loads(line) for line in lines[1:] if line]
        truncated = len(rows) > limits.max_rows
        return ReadOnlyResult(columns, rows[: limits.max_rows], truncated)

    def canonical(self, sql: str) -> str:
        """``sql`` parsed by ClickHouse (bound as a parameter, so nothing of it runs) and
        printed back: exactly one statement on one line, comments gone; a ClickHouse error
        (syntax, multi-statements, over ``max_query_size``) otherwise."""
        with self._lock:
            try:
                self._session.query(
                    f"SET param_untrusted_sql = {_sql_literal(param_text(sql))}", "CSV"
                )
                result = self._session.query(
                    "SELECT formatQuerySingleLine({untrusted_sql:String})", "TSVRaw"
                )
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from exc
        text: str = result.bytes().decode()
        return text.rstrip("\n")

    def raw(
        self, statement: str, fmt: str, params: Mapping[str, str], database: str | None = None
    ) -> bytes:
        """Run ``statement`` with ``params`` (ClickHouse text form) bound, its answer in ``fmt``.

        Parameters are session state in chDB 3.7.2, so they are set and the statement run
        under the session lock; ``database`` is used for this statement only.
        """
        with self._lock:
            try:
                for name, text in params.items():
                    if not _PARAM_NAME.match(name):
                        raise ClickHouseError(457, f"bad parameter name {name!r}")
                    self._session.query(f"SET param_{name} = {_sql_literal(text)}", "CSV")
                if database is None:
                    result = self._session.query(statement, fmt)
                else:
                    current = self._session.query("SELECT currentDatabase()", "TSVRaw")
                    self._session.query(f"USE {_identifier(database)}", "CSV")
                    try:
                        result = self._session.query(statement, fmt)
                    finally:
                        home = current.bytes().decode().strip()
                        self._session.query(f"USE {_identifier(home)}", "CSV")
            except ClickHouseError:
                raise
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from exc
        data: bytes = result.bytes() if result is not None else b""
        return data

    def _run(self, sql: str, fmt: str) -> bytes:
        try:
            result = self._session.query(sql, fmt)
        except Exception as exc:
            raise WarehouseError(f"{exc} (statement: {sql[:200]})") from exc
        data: bytes = result.bytes() if result is not None else b""
        return data

    def close(self) -> None:
        """Release the data path (and the process's one chDB session)."""
        with self._lock:
            self._session.close()


def _identifier(name: str) -> str:
    """A database name as a quoted identifier."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _first_line(exc: Exception) -> str:
    """A ClickHouse error without the statement echo and stack details."""
    text = str(exc).split(" (statement: ")[0]
    return text.splitlines()[0][:500] if text else type(exc).__name__
