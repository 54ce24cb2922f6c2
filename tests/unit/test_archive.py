from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from ghlake.errors import SourceError
from ghlake.hours import Hour
from ghlake.sources.archive import HourMissingError, gunzip_lines, open_archive

LINES = [b'{"n":1}', b'{"n":2}', b'{"n":3,"text":"' + b"x" * 5000 + b'"}']


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


AHEAD = pytest.mark.parametrize("ahead", [False, True], ids=["inline", "read-ahead"])


@AHEAD
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_lines_survive_any_chunking(chunk: int, ahead: bool) -> None:
    data = gzip.compress(b"\n".join(LINES) + b"\n")
    assert list(gunzip_lines(_chunks(data, chunk), read_ahead=ahead)) == LINES


@AHEAD
def test_concatenated_members_and_a_last_line_without_newline(ahead: bool) -> None:
    data = gzip.compress(LINES[0] + b"\n") + gzip.compress(LINES[1] + b"\n" + LINES[2])
    assert list(gunzip_lines(_chunks(data, 100), read_ahead=ahead)) == LINES


@AHEAD
def test_truncated_gzip_yields_complete_lines_then_fails(ahead: bool) -> None:
    data = gzip.compress(b"\n".join(LINES * 50) + b"\n")
    seen: list[bytes] = []
    with pytest.raises(SourceError, match="truncated"):
        seen.extend(gunzip_lines(_chunks(data[: len(data) // 2], 512), read_ahead=ahead))
    assert seen, "lines before the damage are delivered"
    assert all(line in LINES for line in seen)


@AHEAD
def test_corrupt_gzip_is_a_source_error(ahead: bool) -> None:
    with pytest.raises(SourceError, match="corrupt"):
        list(gunzip_lines([b"<?xml version='1.0'?><Error>NoSuchKey</Error>"], read_ahead=ahead))


def test_a_consumer_that_stops_early_stops_the_read_ahead_and_closes_the_source() -> None:
    closed = threading.Event()
    data = gzip.compress(b"\n".join(LINES * 2000) + b"\n")

    def source() -> Iterator[bytes]:
        try:
            yield from _chunks(data, 256)
        finally:
            closed.set()

    lines = gunzip_lines(source(), read_ahead=True)
    assert next(lines) == LINES[0]
    lines.close()  # the consumer goes away with most of the file unread
    assert closed.is_set(), "the source was closed when the consumer stopped"
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]


def test_local_folder_missing_hour(tmp_path: Path) -> None:
    with pytest.raises(HourMissingError, match="2015-01-01-1"):
        list(open_archive(tmp_path).chunks(Hour.parse("2015-01-01-1")))


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    """A GH-Archive-compatible mirror on loopback serving ``tmp_path``."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_mirror_streams_hours_and_reports_404(tmp_path: Path, mirror: str) -> None:
    (tmp_path / "2015-01-01-1.json.gz").write_bytes(gzip.compress(b"\n".join(LINES) + b"\n"))
    source = open_archive(mirror)
    try:
        assert list(gunzip_lines(source.chunks(Hour.parse("2015-01-01-1")))) == LINES
        with pytest.raises(HourMissingError, match="404"):
            list(source.chunks(Hour.parse("2015-01-01-2")))
    finally:
        source.close()
