"""The object store's error translation against a local HTTP server that answers like a
MinIO still initializing (503 with no body) or refusing (403)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ghlake.errors import StorageError, TransientStorageError
from ghlake.lake.store import ObjectStore
from ghlake.settings import MinioSettings, Settings


@contextmanager
def _s3(statuses: list[int]) -> Iterator[tuple[ObjectStore, list[str]]]:
    """A server answering HEAD with ``statuses`` in turn (the last one forever)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            seen.append(self.path)
            status = statuses[min(len(seen), len(statuses)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = Settings(minio=MinioSettings(port=server.server_address[1], bucket="lake"))
    store = ObjectStore.from_settings(settings)
    try:
        yield store, seen
    finally:
        store.close()
        server.shutdown()
        server.server_close()


def test_a_starting_server_is_waited_for() -> None:
    with _s3([503, 503, 503, 200]) as (store, seen):
        assert store.ensure_bucket(wait_seconds=10) is False  # it exists once the server is up
    assert len(seen) == 4


def test_a_server_that_stays_unavailable_is_a_transient_error() -> None:
    with _s3([503]) as (store, _), pytest.raises(TransientStorageError, match="the bucket"):
        store.ensure_bucket(wait_seconds=0.5)


def test_a_refusal_is_not_retried() -> None:
    with _s3([403]) as (store, seen), pytest.raises(StorageError) as raised:
        store.ensure_bucket(wait_seconds=10)
    assert not isinstance(raised.value, TransientStorageError)
    assert len(seen) == 1
