"""The embedded ClickHouse engine (chDB) behind one small seam.

chDB runs ClickHouse inside this process. Only one process may open a data
path, so the warehouse service owns the engine and everything else talks to
that service (see :mod:`ghlake.warehouse.client`). Inside it, chDB 4 serves any
number of connections to the one data path, each with its own session state,
running queries in parallel: the engine keeps a small pool of them.

Parameters are bound by ClickHouse, never formatted into the statement: the
query names typed placeholders (``{hours:Array(String)}``) and the values
travel with the query (``params=``) in ClickHouse's text form, which the engine
parses as the declared type.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import orjson

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.warehouse.readonly import ReadOnlyLimits, ReadOnlyResult, read_only_statement
from ghlake.warehouse.wire import ClickHouseError

__all__ = ["ChdbEngine", "Engine", "param_text"]


class Engine(Protocol):
    """What the warehouse needs from a ClickHouse: embedded chDB or a server."""

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing."""

    def use(self, database: str) -> None:
        """Make ``database`` the current one (unqualified table names)."""

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
    """chDB on a data path, through a pool of connections that run queries in parallel.

    A slow dashboard query holds one connection; health checks, the Kafka engine's
    writes and other clients go on through the others. Each connection keeps its own
    session state (current database, settings), so nothing set for one request leaks
    into another; parameters travel with each query.
    """

    def __init__(self, path: Path, connections: int = 8) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._size = connections
        self._lock = threading.Condition()
        self._idle: list[Any] = []
        self._opened = 0
        self._closed = False
        self._database: str | None = None
        self._using: dict[int, str | None] = {}  # id(connection) -> its current database
        # chDB stops the engine (and its Kafka consumers) when the last connection to the
        # path closes; this one never runs a query and holds it open until close().
        self._keeper = self._open()
        self._opened -= 1

    def _open(self) -> Any:
        # Imported here: loading the engine's library adds ~280 MB to a process's resident
        # memory, and most processes that import this module (the lake writer, the CLI,
        # the API) never open an engine.
        import chdb  # noqa: PLC0415

        try:
            connection = chdb.connect(str(self.path))
        except Exception as exc:
            raise WarehouseError(f"cannot open the chDB data path {self.path}: {exc}") from exc
        self._opened += 1
        self._using[id(connection)] = None
        return connection

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection of the pool for one call, in the engine's current database."""
        with self._lock:
            while not self._idle and self._opened >= self._size and not self._closed:
                self._lock.wait()
            if self._closed:
                raise WarehouseError("the warehouse engine is closed")
            connection = self._idle.pop() if self._idle else self._open()
            database = self._database
        try:
            if database is not None and self._using[id(connection)] != database:
                connection.query(f"USE {_identifier(database)}", "CSV")
                self._using[id(connection)] = database
            yield connection
        except BaseException:
            # chDB 4.4 leaves a failed query's partial output in its connection, where it
            # would lead the next answer: a connection that raised is never reused.
            self._discard(connection)
            raise
        with self._lock:
            self._idle.append(connection)
            self._lock.notify()

    def _discard(self, connection: Any) -> None:
        with self._lock:
            self._opened -= 1
            self._using.pop(id(connection), None)
            self._lock.notify()
        with contextlib.suppress(Exception):
            connection.close()

    def use(self, database: str) -> None:
        """Make ``database`` the current one of every connection (unqualified names)."""
        with self._lock:
            self._database = database

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing (DDL, SET, INSERT ... SELECT)."""
        self._run(sql, "CSV")

    def rows(self, sql: str, params: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Run a query with bound ``params``; return its rows as dicts."""
        texts = {name: param_text(value) for name, value in (params or {}).items()}
        data = self._run(sql, "JSONEachRow", _checked(texts, InvalidInputError))
        return [orjson.loads(line) for line in data.splitlines() if line]

    def read_only(self, sql: str, limits: ReadOnlyLimits) -> ReadOnlyResult:
        """Rows of an untrusted ``sql``, run by ClickHouse with ``readonly = 1`` and limits.

        ClickHouse parses the text first (as a bound parameter, so nothing of it is
        executed): one statement, comments gone. That canonical statement runs as a
        subquery whose SETTINGS put the query context in read-only mode with time,
        memory and row limits (see :mod:`ghlake.warehouse.readonly`).
        """
        try:
            canonical = self._run(_FORMAT_QUERY, "TSVRaw", {"untrusted_sql": param_text(sql)})
        except WarehouseError as exc:
            raise InvalidInputError(f"not one SQL statement: {_first_line(exc)}") from exc
        statement = read_only_statement(canonical.decode().rstrip("\n"), limits)
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
        with self._connection() as connection:
            try:
                result = connection.query(
                    _FORMAT_QUERY, "TSVRaw", params={"untrusted_sql": param_text(sql)}
                )
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from exc
        return _bytes(result).decode().rstrip("\n")

    def raw(
        self, statement: str, fmt: str, params: Mapping[str, str], database: str | None = None
    ) -> bytes:
        """Run ``statement`` with ``params`` (ClickHouse text form) bound, its answer in ``fmt``.

        ``database`` is used for this statement only (its connection goes back to the
        engine's database afterwards).
        """
        bound = _checked(params, lambda message: ClickHouseError(457, message))
        with self._connection() as connection:
            try:
                if database is None:
                    return _bytes(connection.query(statement, fmt, params=bound))
                connection.query(f"USE {_identifier(database)}", "CSV")
                self._using[id(connection)] = database
                return _bytes(connection.query(statement, fmt, params=bound))
            except ClickHouseError:
                raise
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from exc

    def _run(self, sql: str, fmt: str, params: Mapping[str, str] | None = None) -> bytes:
        with self._connection() as connection:
            try:
                return _bytes(connection.query(sql, fmt, params=params or {}))
            except Exception as exc:
                raise WarehouseError(f"{exc} (statement: {sql[:200]})") from exc

    def close(self) -> None:
        """Release the data path: close every connection (in-flight calls finish first)."""
        with self._lock:
            self._closed = True
            while len(self._idle) < self._opened:
                self._lock.wait()
            for connection in [*self._idle, self._keeper]:
                connection.close()
            self._idle.clear()
            self._lock.notify_all()


_FORMAT_QUERY = "SELECT formatQuerySingleLine({untrusted_sql:String})"


def _checked(params: Mapping[str, str], error: Callable[[str], Exception]) -> dict[str, str]:
    """``params`` (ClickHouse text form), their names checked."""
    for name in params:
        if not _PARAM_NAME.match(name):
            raise error(f"bad parameter name {name!r}")
    return dict(params)


def _bytes(result: Any) -> bytes:
    data: bytes = result.bytes() if result is not None else b""
    return data


def _identifier(name: str) -> str:
    """A database name as a quoted identifier."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _first_line(exc: Exception) -> str:
    """A ClickHouse error without the statement echo and stack details."""
    text = str(exc).split(" (statement: ")[0]
    return text.splitlines()[0][:500] if text else type(exc).__name__
