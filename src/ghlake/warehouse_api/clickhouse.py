"""ClickHouse's HTTP interface, served by the warehouse service on its own port (8123).

The same process that owns chDB answers here, so clickhouse-connect, the JDBC driver
(Metabase) and Grafana's data source connect as to a clickhouse-server. This edge only
adapts HTTP: credentials, body limits and encodings, compressed-block framing, response
headers; what runs is decided by :meth:`ghlake.warehouse.service.WarehouseService.clickhouse`
and :mod:`ghlake.warehouse.wire`.

- ``GET /``, ``GET /ping``: ``Ok.``; ``GET /?query=`` (read-only, as in ClickHouse) and
  ``POST /`` (the query in the URL, the body, or both joined by a newline).
- Credentials: Basic auth, ``X-ClickHouse-User`` / ``X-ClickHouse-Key``, or the ``user`` /
  ``password`` parameters (:func:`ghlake.warehouse.users.authenticate`).
- Request bodies: ``Content-Encoding`` gzip, deflate, zstd, lz4, br, and ``decompress=1``
  (compressed blocks). Answers: ``compress=1`` frames them (errors too);
  ``enable_http_compression=1`` encodes them as the client's ``Accept-Encoding`` allows.
- Errors: ClickHouse's HTTP status, ``X-ClickHouse-Exception-Code``, and its text.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import cramjam
import orjson
from fastapi.concurrency import run_in_threadpool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ghlake.settings import Settings
from ghlake.warehouse.framing import compress_blocks, decompress_blocks
from ghlake.warehouse.service import WarehouseService
from ghlake.warehouse.users import WarehouseUser, authenticate
from ghlake.warehouse.wire import ClickHouseError, wire_request
from ghlake.warehouse_api.deps import Metrics

T = TypeVar("T")

__all__ = ["create_clickhouse_app"]

log = logging.getLogger(__name__)

_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNames": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNamesAndTypes": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "CSVWithNames": "text/csv; charset=UTF-8; header=present",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
}
_DECODERS: dict[str, Callable[[bytes], object]] = {
    "gzip": cramjam.gzip.decompress,
    "x-gzip": cramjam.gzip.decompress,
    "deflate": cramjam.zlib.decompress,
    "zstd": cramjam.zstd.decompress,
    "lz4": cramjam.lz4.decompress,
    "br": cramjam.brotli.decompress,
}
_ENCODERS: dict[str, Callable[[bytes], object]] = {
    "zstd": cramjam.zstd.compress,
    "lz4": cramjam.lz4.compress,
    "gzip": cramjam.gzip.compress,
    "deflate": cramjam.zlib.compress,
    "br": cramjam.brotli.compress,
}


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """User and password from Basic auth, X-ClickHouse-User/Key, or user/password parameters."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ClickHouseError.named(
                "AUTHENTICATION_FAILED", "malformed Basic authorization"
            ) from exc
        user, _, password = decoded.partition(":")
        return user, password
    if "x-clickhouse-user" in request.headers:
        return request.headers["x-clickhouse-user"], request.headers.get("x-clickhouse-key", "")
    return request.query_params.get("user"), request.query_params.get("password")


# How often a running query looks whether its client is still there.
DISCONNECT_POLL_SECONDS = 0.5


async def _unless_gone(
    request: Request, run: Callable[[str], T], cancel: Callable[[str], None]
) -> T:
    """``run(tag)`` in a worker thread; if the client disconnects meanwhile, ``cancel(tag)``
    stops the query in the engine (KILL QUERY), as clickhouse-server does."""
    tag = uuid.uuid4().hex
    task = asyncio.ensure_future(run_in_threadpool(run, tag))
    while True:
        done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
        if done:
            return task.result()
        if await request.is_disconnected():
            log.info("client gone: cancelling run %s", tag)
            await run_in_threadpool(cancel, tag)
            return await task


async def _body(request: Request, limit: int) -> bytes:
    """The request body, decoded from its Content-Encoding and compressed blocks."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if body and encoding and encoding != "identity":
        decoder = _DECODERS.get(encoding)
        if decoder is None:
            raise ClickHouseError.named(
                "UNKNOWN_COMPRESSION_METHOD", f"Unknown Content-Encoding {encoding[:50]!r}"
            )
        try:
            body = bytes(decoder(body))  # type: ignore[call-overload]
        except cramjam.DecompressionError as exc:
            raise ClickHouseError.named("CANNOT_DECOMPRESS", f"Cannot decompress: {exc}") from exc
        if len(body) > limit:
            raise _too_large(limit)
    if body and request.query_params.get("decompress") == "1":
        body = decompress_blocks(body)
    return body


def _too_large(limit: int) -> ClickHouseError:
    return ClickHouseError.named(
        "QUERY_IS_TOO_LARGE", f"The request body is larger than {limit} bytes"
    )


def _encoded(request: Request, body: bytes, headers: dict[str, str]) -> bytes:
    """The answer framed (``compress=1``) and encoded as the client allows."""
    if request.query_params.get("compress") == "1":
        body = compress_blocks(body)
    if request.query_params.get("enable_http_compression") == "1":
        accepted = [
            part.split(";")[0].strip().lower()
            for part in request.headers.get("accept-encoding", "").split(",")
        ]
        for name in accepted:
            if name in _ENCODERS:
                headers["Content-Encoding"] = name
                encoded: bytes = bytes(_ENCODERS[name](body))  # type: ignore[call-overload]
                return encoded
    return body


def create_clickhouse_app(
    settings: Settings, service: Callable[[], WarehouseService], metrics: Metrics
) -> Starlette:
    """The ClickHouse HTTP interface over ``service()`` (the process's warehouse service)."""
    limit = settings.warehouse.max_body_bytes

    def count(request: Request, outcome: str) -> None:
        framed = "true" if request.query_params.get("compress") == "1" else "false"
        metrics.clickhouse_queries.labels(outcome, framed).inc()

    def base_headers(query_id: str) -> dict[str, str]:
        return {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": "UTC",
            "X-ClickHouse-Server-Display-Name": "ghlake",
        }

    def error(request: Request, exc: ClickHouseError, query_id: str) -> Response:
        headers = base_headers(query_id)
        headers["X-ClickHouse-Exception-Code"] = str(exc.code)
        body = _encoded(request, exc.body(), headers)
        ctype = "text/plain; charset=UTF-8"
        return Response(body, status_code=exc.status, headers=headers, media_type=ctype)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("Ok.\n")

    async def root(request: Request) -> Response:
        has_query = "query" in request.query_params
        if request.method in ("GET", "HEAD") and not has_query:
            return PlainTextResponse("Ok.\n")
        query_id = request.query_params.get("query_id") or str(uuid.uuid4())
        started = time.perf_counter()
        try:
            user: WarehouseUser = authenticate(settings, *_credentials(request))
            body = b"" if request.method == "GET" else await _body(request, limit)
            try:
                text = body.decode()
            except UnicodeDecodeError as exc:
                raise ClickHouseError.named("SYNTAX_ERROR", "the query is not UTF-8") from exc
            wire = wire_request(request.query_params.multi_items(), text, request.headers)
            data, fmt = await _unless_gone(
                request,
                lambda tag: service().clickhouse(
                    wire, user, query_id, get=request.method == "GET", run_tag=tag
                ),
                service().cancel,
            )
        except ClickHouseError as exc:
            log.info("clickhouse query %s refused: %s", query_id, exc.text.splitlines()[0][:300])
            count(request, "error")
            return error(request, exc, query_id)
        elapsed = time.perf_counter() - started
        count(request, "ok")
        headers = base_headers(query_id)
        headers["X-ClickHouse-Format"] = fmt
        headers["X-ClickHouse-Summary"] = orjson.dumps(
            {"read_rows": "0", "read_bytes": "0", "written_rows": "0", "written_bytes": "0",
             "total_rows_to_read": "0", "result_bytes": str(len(data)),
             "elapsed_ns": str(int(elapsed * 1e9))}
        ).decode()  # fmt: skip
        log.info(
            "clickhouse query %s by %s: %d bytes of %s in %.3fs",
            query_id, user.name, len(data), fmt, elapsed,
        )  # fmt: skip
        content_type = _CONTENT_TYPES.get(fmt, "application/octet-stream")
        return Response(_encoded(request, data, headers), headers=headers, media_type=content_type)

    return Starlette(
        routes=[
            Route("/", root, methods=["GET", "POST", "HEAD"]),
            Route("/ping", ping, methods=["GET", "HEAD"]),
            Route("/replicas_status", ping, methods=["GET", "HEAD"]),
        ]
    )
