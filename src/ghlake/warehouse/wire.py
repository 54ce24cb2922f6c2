"""ClickHouse's HTTP interface without the HTTP framework: requests, statements, errors.

The warehouse service answers ClickHouse clients (clickhouse-connect, the JDBC driver,
Grafana) on its own port (:mod:`ghlake.warehouse_api.clickhouse` is the edge). This
module turns what a client sent into what the engine runs, in four steps:

1. **Split** the URL parameters (:func:`wire_request`): ``param_<name>`` are query
   parameters, transport keys (``session_id``, ``compress`` ...) are consumed, and every
   other key is a setting. The statement is the ``query`` parameter and the body, joined
   by a newline, as ClickHouse joins them.
2. **Canonicalize**: ClickHouse parses the statement (bound as a parameter of
   ``formatQuerySingleLine``, so nothing of it runs): exactly one statement, comments
   and trailing semicolons gone, every literal quoted the engine's way.
3. **Attach settings per query** (:func:`statement_with_settings`): the request's settings,
   then the user's (``readonly = 1`` and limits for the analyst), go into the statement's
   own query-level ``SETTINGS`` clause, the last one given winning. Nothing is ``SET`` on
   the session the Kafka engine and every other client share, so no setting of one request
   reaches another; a ``SET`` statement cannot carry that clause and the engine refuses it.
4. **Bind parameters** with the query itself, on one pooled connection
   (:meth:`ghlake.warehouse.engine.ChdbEngine.raw`); a statement whose placeholders this
   request did not bind is refused as ClickHouse refuses it (code 456) before it runs
   (:func:`placeholders`): values never travel from one request to another.

Errors are :class:`ClickHouseError`: a ClickHouse error code, its HTTP status
(:func:`http_status_of`) and the ``Code: N. DB::Exception: ...`` text clients parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ghlake.errors import WarehouseError

__all__ = [
    "CODES",
    "ENGINE_VERSION",
    "TRANSPORT_KEYS",
    "ClickHouseError",
    "WireRequest",
    "http_status_of",
    "inline_insert",
    "into_outfile",
    "output_format",
    "placeholders",
    "statement_with_settings",
    "wire_request",
]

ENGINE_VERSION = "25.8.2.1"

# ClickHouse's own error codes (src/Common/ErrorCodes.cpp), read from the engine with
# errorCodeToName(); only those this interface raises or maps to an HTTP status.
CODES: dict[str, int] = {
    "UNSUPPORTED_METHOD": 1, "CANNOT_PARSE_TEXT": 6, "CANNOT_PARSE_ESCAPE_SEQUENCE": 25,
    "CANNOT_PARSE_QUOTED_STRING": 26, "CANNOT_PARSE_INPUT_ASSERTION_FAILED": 27,
    "BAD_ARGUMENTS": 36, "UNKNOWN_ELEMENT_IN_AST": 37, "CANNOT_PARSE_DATE": 38,
    "TOO_LARGE_SIZE_COMPRESSED": 39, "CHECKSUM_DOESNT_MATCH": 40, "CANNOT_PARSE_DATETIME": 41,
    "NUMBER_OF_ARGUMENTS_DOESNT_MATCH": 42, "ILLEGAL_TYPE_OF_ARGUMENT": 43,
    "UNKNOWN_FUNCTION": 46, "UNKNOWN_IDENTIFIER": 47, "NOT_IMPLEMENTED": 48, "UNKNOWN_TYPE": 50,
    "TYPE_MISMATCH": 53, "UNKNOWN_STORAGE": 56, "UNKNOWN_TABLE": 60, "SYNTAX_ERROR": 62,
    "UNKNOWN_AGGREGATE_FUNCTION": 63, "CANNOT_PARSE_NUMBER": 72, "UNKNOWN_FORMAT": 73,
    "UNKNOWN_TYPE_OF_QUERY": 78, "UNKNOWN_DATABASE": 81, "UNKNOWN_COMPRESSION_METHOD": 89,
    "UNKNOWN_SETTING": 115, "INCORRECT_DATA": 117, "TIMEOUT_EXCEEDED": 159, "READONLY": 164,
    "REQUIRED_PASSWORD": 194, "QUERY_IS_TOO_LARGE": 229, "MEMORY_LIMIT_EXCEEDED": 241,
    "CANNOT_DECOMPRESS": 271, "INTO_OUTFILE_NOT_ALLOWED": 358, "CANNOT_PARSE_UUID": 376,
    "QUERY_WAS_CANCELLED": 394, "TOO_MANY_ROWS_OR_BYTES": 396, "UNKNOWN_QUERY_PARAMETER": 456,
    "BAD_QUERY_PARAMETER": 457, "CANNOT_PARSE_BOOL": 467, "ACCESS_DENIED": 497,
    "AUTHENTICATION_FAILED": 516,
}  # fmt: skip
_NAMES = {code: name for name, code in CODES.items()}

# The HTTP status ClickHouse's HTTP handler answers each code with (exceptionCodeToHTTPStatus).
_STATUS_BY_NAME: dict[str, int] = {
    "REQUIRED_PASSWORD": 401,
    "AUTHENTICATION_FAILED": 403, "ACCESS_DENIED": 403, "READONLY": 403,
    "UNKNOWN_TABLE": 404, "UNKNOWN_FUNCTION": 404, "UNKNOWN_IDENTIFIER": 404,
    "UNKNOWN_TYPE": 404, "UNKNOWN_STORAGE": 404, "UNKNOWN_DATABASE": 404,
    "UNKNOWN_SETTING": 404, "UNKNOWN_AGGREGATE_FUNCTION": 404, "UNKNOWN_FORMAT": 404,
    "UNKNOWN_TYPE_OF_QUERY": 404, "UNKNOWN_QUERY_PARAMETER": 400,
    "QUERY_IS_TOO_LARGE": 413, "NOT_IMPLEMENTED": 501, "TIMEOUT_EXCEEDED": 408,
    "QUERY_WAS_CANCELLED": 499,
}  # fmt: skip
_BAD_REQUEST = {
    "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING",
    "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "BAD_ARGUMENTS", "UNKNOWN_ELEMENT_IN_AST",
    "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "NUMBER_OF_ARGUMENTS_DOESNT_MATCH",
    "ILLEGAL_TYPE_OF_ARGUMENT", "TYPE_MISMATCH", "SYNTAX_ERROR", "CANNOT_PARSE_NUMBER",
    "INCORRECT_DATA", "BAD_QUERY_PARAMETER", "CANNOT_PARSE_UUID", "CANNOT_PARSE_BOOL",
    "TOO_LARGE_SIZE_COMPRESSED", "CHECKSUM_DOESNT_MATCH", "CANNOT_DECOMPRESS",
    "UNKNOWN_COMPRESSION_METHOD", "INTO_OUTFILE_NOT_ALLOWED",
}  # fmt: skip

# URL keys a client sends to the transport, never to the engine.
TRANSPORT_KEYS = frozenset(
    {
        "query", "database", "default_format", "session_id", "session_timeout",
        "session_check", "query_id", "compress", "decompress", "wait_end_of_query",
        "client_protocol_version", "user", "password", "quota_key", "role",
        "buffer_size", "enable_http_compression", "http_zlib_compression_level",
        "send_progress_in_http_headers", "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close", "http_response_buffer_size",
        "add_http_cors_header", "http_native_compression_disable_checksumming_on_decompress",
    }
)  # fmt: skip

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE = re.compile(r"Code: (\d+)\. ")


def http_status_of(code: int) -> int:
    """The HTTP status ClickHouse answers an error ``code`` with."""
    name = _NAMES.get(code, "")
    if name in _STATUS_BY_NAME:
        return _STATUS_BY_NAME[name]
    return 400 if name in _BAD_REQUEST else 500


class ClickHouseError(WarehouseError):
    """An error as ClickHouse reports it: its code and ``Code: N. DB::Exception: ...``."""

    def __init__(self, code: int, message: str, *, text: str | None = None) -> None:
        name = _NAMES.get(code, "UNKNOWN_EXCEPTION")
        self.code = code
        self.text = text or (
            f"Code: {code}. DB::Exception: {message}. ({name}) (version {ENGINE_VERSION})"
        )
        super().__init__(self.text)

    @classmethod
    def named(cls, name: str, message: str) -> ClickHouseError:
        """An error by its ClickHouse name (``READONLY``, ``UNKNOWN_SETTING`` ...)."""
        return cls(CODES[name], message)

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """The engine's own exception, kept as the engine wrote it."""
        text = str(exc).strip()
        match = _CODE.search(text)
        if match is None:
            return cls(1000, text or type(exc).__name__)
        return cls(int(match.group(1)), "", text=text[match.start() :])

    @property
    def status(self) -> int:
        """The HTTP status of this error."""
        return http_status_of(self.code)

    def body(self) -> bytes:
        """The response body clients parse."""
        return (self.text.rstrip("\n") + "\n").encode()


@dataclass(frozen=True)
class WireRequest:
    """What a client asked: the statement, where, in which format, with what."""

    sql: str
    database: str | None = None
    default_format: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    settings: list[tuple[str, str]] = field(default_factory=list)
    transport: dict[str, str] = field(default_factory=dict)


def wire_request(
    url_params: Iterable[tuple[str, str]],
    body: str,
    headers: Mapping[str, str],
) -> WireRequest:
    """Split a request's URL parameters, statement and headers (step 1)."""
    params: dict[str, str] = {}
    settings: list[tuple[str, str]] = []
    transport: dict[str, str] = {}
    for key, value in url_params:
        if key.startswith("param_"):
            name = key.removeprefix("param_")
            if not _IDENT.match(name):
                raise ClickHouseError.named("BAD_QUERY_PARAMETER", f"bad parameter name {key!r}")
            params[name] = value
        elif key in TRANSPORT_KEYS:
            transport[key] = value
        elif not _IDENT.match(key):
            raise ClickHouseError.named("UNKNOWN_SETTING", f"Unknown setting '{key[:100]}'")
        else:
            settings.append((key, value))
    query = transport.get("query", "")
    sql = "\n".join(part for part in (query, body) if part)
    if not sql.strip():
        raise ClickHouseError.named("SYNTAX_ERROR", "Empty query")
    return WireRequest(
        sql=sql,
        database=transport.get("database") or headers.get("x-clickhouse-database") or None,
        default_format=(
            transport.get("default_format") or headers.get("x-clickhouse-format") or None
        ),
        params=params,
        settings=settings,
        transport=transport,
    )


def _masked(text: str) -> str:
    """``text`` with the inside of quoted literals and identifiers blanked out."""
    out = []
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
                out.append(char)
                continue
            out.append("x")
        else:
            if char in "'`\"":
                quote = char
            out.append(char)
    return "".join(out)


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\s*:")
_TAIL = re.compile(r" FORMAT (\w+)( SETTINGS .*)?$")
_INSERT_DATA = re.compile(r"^INSERT INTO (.*) FORMAT \w+$")


def placeholders(canonical: str) -> set[str]:
    """The names of a canonical statement's ``{name:Type}`` placeholders."""
    return set(_PLACEHOLDER.findall(_masked(canonical)))


def output_format(canonical: str) -> str | None:
    """The format a canonical statement's own ``FORMAT`` clause names, if any."""
    masked = _masked(canonical)
    if _INSERT_DATA.match(masked):
        return None
    match = _TAIL.search(masked)
    return match.group(1) if match else None


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def statement_with_settings(canonical: str, settings: Iterable[tuple[str, str]]) -> str:
    """``canonical`` with ``settings`` in its query-level SETTINGS clause (step 3).

    Later settings win, so the user's limits go last. The clause names each setting
    once, with its last value, and ``readonly`` at the end: the engine applies the clause
    twice, and refuses a second change of a setting (or any after ``readonly = 1``) once
    the first pass made the query read-only. An INSERT whose data followed
    the statement (its canonical form ends ``FORMAT <input format>``) keeps its target
    and becomes an INSERT ... SELECT of nothing: the engine checks it (read-only users
    are refused), and the edge refuses inline data for everyone else.
    """
    final = dict(settings)  # each name once, its last value
    readonly = final.pop("readonly", None)
    if readonly is not None:
        final["readonly"] = readonly
    changes = ", ".join(f"{name} = {_literal(value)}" for name, value in final.items())
    masked = _masked(canonical)
    insert = _INSERT_DATA.match(masked)
    if insert:
        return f"INSERT INTO {canonical[: insert.end(1)][12:]} SETTINGS {changes} SELECT 1 WHERE 0"
    tail = _TAIL.search(masked)
    if tail and tail.group(2):
        return f"{canonical}, {changes}"
    return f"{canonical} SETTINGS {changes}"


def inline_insert(canonical: str) -> bool:
    """Whether a canonical statement is an INSERT whose rows followed it in the request."""
    return _INSERT_DATA.match(_masked(canonical)) is not None


def into_outfile(canonical: str) -> bool:
    """Whether a canonical statement writes a file (``INTO OUTFILE``).

    clickhouse-server refuses it over HTTP (INTO_OUTFILE_NOT_ALLOWED); chDB writes the
    file as clickhouse-local does, even in read-only mode, so the edge must refuse it.
    """
    return " INTO OUTFILE " in _masked(canonical)
