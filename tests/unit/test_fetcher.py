"""HourFetcher against local mirrors: retries, fallbacks, checksums, bounded prefetch."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghlake.errors import SourceError
from ghlake.hours import Hour, hour_range
from ghlake.sources.archive import HourFetcher, gunzip_lines, open_archive

H1, H2, H3 = (Hour.parse(h) for h in ("2016-01-28-0", "2016-01-28-1", "2016-01-28-2"))


class _Mirror(http.server.ThreadingHTTPServer):
    """Serves files by name; ``script`` maps a name to status codes to answer first."""

    files: dict[str, bytes]
    script: dict[str, list[int]]
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Mirror

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests.append(name)
        planned = self.server.script.get(name)
        if planned:
            self.send_response(planned.pop(0))
            self.end_headers()
            return
        body = self.server.files.get(name)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirrors() -> Iterator[tuple[_Mirror, _Mirror]]:
    servers = []
    for _ in range(2):
        server = _Mirror(("127.0.0.1", 0), _Handler)
        server.files, server.script, server.requests = {}, {}, []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers[0], servers[1]
    for server in servers:
        server.shutdown()
        server.server_close()


def _url(server: _Mirror) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _fetcher(tmp_path: Path, *servers: _Mirror) -> HourFetcher:
    sources = [open_archive(_url(s), timeout=5) for s in servers]
    return HourFetcher(sources, tmp_path / "spool", retries=3, backoff=0.01)


def test_download_is_spooled_with_checksum_and_size(
    tmp_path: Path, mirrors: tuple[_Mirror, _Mirror]
) -> None:
    primary, _ = mirrors
    body = gzip.compress(b'{"a":1}\n{"a":2}\n')
    primary.files[H1.filename] = body
    fetched = _fetcher(tmp_path, primary).fetch(H1)
    assert (fetched.size, fetched.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert list(gunzip_lines(fetched.chunks())) == [b'{"a":1}', b'{"a":2}']
    fetched.discard()
    assert fetched.path is not None
    assert not fetched.path.exists()


def test_transient_errors_are_retried(tmp_path: Path, mirrors: tuple[_Mirror, _Mirror]) -> None:
    primary, _ = mirrors
    primary.files[H1.filename] = gzip.compress(b"{}\n")
    primary.script[H1.filename] = [500, 503, 429]
    fetched = _fetcher(tmp_path, primary).fetch(H1)
    assert fetched.path is not None
    assert primary.requests.count(H1.filename) == 4


def test_missing_on_primary_falls_back_to_the_next_mirror(
    tmp_path: Path, mirrors: tuple[_Mirror, _Mirror]
) -> None:
    primary, fallback = mirrors
    fallback.files[H1.filename] = gzip.compress(b"{}\n")
    fetched = _fetcher(tmp_path, primary, fallback).fetch(H1)
    assert fetched.origin == _url(fallback)


def test_missing_everywhere_is_recorded_not_raised(
    tmp_path: Path, mirrors: tuple[_Mirror, _Mirror]
) -> None:
    primary, fallback = mirrors
    fetched = _fetcher(tmp_path, primary, fallback).fetch(H2)
    assert fetched.path is None
    assert not fetched.failed
    assert "404" in (fetched.error or "")


def test_persistent_server_errors_fail_the_hour_and_the_range_goes_on(
    tmp_path: Path, mirrors: tuple[_Mirror, _Mirror]
) -> None:
    primary, _ = mirrors
    primary.script[H1.filename] = [500] * 10
    primary.files[H2.filename] = gzip.compress(b"{}\n")
    with pytest.raises(SourceError, match="gave up after 4 attempts"):
        _fetcher(tmp_path, primary).fetch(H1)
    results = list(_fetcher(tmp_path, primary).prefetch(hour_range(H1, H3), concurrency=2))
    assert [(r.hour, r.failed, r.path is not None) for r in results] == [
        (H1, True, False), (H2, False, True), (H3, False, False),
    ]  # fmt: skip
