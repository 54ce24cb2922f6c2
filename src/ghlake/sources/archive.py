"""GH Archive hours from a local folder or any HTTP mirror, streamed line by line.

The source is picked by the location's scheme: ``http://`` and ``https://``
stream from a mirror (data.gharchive.org or a compatible one, including
ghlake's own API), anything else is a local folder. Files are never buffered
whole: compressed chunks are inflated incrementally and split into lines.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import httpx

from ghlake.errors import SourceError, Transient
from ghlake.hours import Hour

__all__ = [
    "ArchiveSource",
    "HourMissingError",
    "HttpArchive",
    "LocalArchive",
    "TransientSourceError",
    "gunzip_lines",
    "open_archive",
]

CHUNK_SIZE = 1 << 20


class HourMissingError(SourceError):
    """The source has no file for the hour (GH Archive answers 404 for lost hours)."""


class TransientSourceError(SourceError, Transient):
    """The source could not be reached now; retrying may work."""


class ArchiveSource(Protocol):
    """Anything that can stream the compressed bytes of an hour."""

    def describe(self) -> str:
        """Where the hours come from, for logs and tables."""
        ...

    def chunks(self, hour: Hour) -> Iterator[bytes]:
        """The hour's gzip bytes, in chunks; raises :class:`HourMissingError`."""
        ...


class LocalArchive:
    """Hours stored as ``<root>/YYYY-MM-DD-H.json.gz``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        """The folder."""
        return str(self.root)

    def chunks(self, hour: Hour) -> Iterator[bytes]:
        """Read the hour's file in chunks."""
        path = self.root / hour.filename
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise HourMissingError(f"{hour}: no file {path}") from exc
        with handle:
            while chunk := handle.read(CHUNK_SIZE):
                yield chunk


class HttpArchive:
    """Hours served as ``<base_url>/YYYY-MM-DD-H.json.gz`` by a GH-Archive-compatible mirror."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True
        )

    def describe(self) -> str:
        """The base URL."""
        return self.base_url

    def chunks(self, hour: Hour) -> Iterator[bytes]:
        """Stream the hour's file."""
        url = f"{self.base_url}/{hour.filename}"
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code == 404:
                    raise HourMissingError(f"{hour}: {url} answered 404")
                if response.status_code >= 500 or response.status_code == 429:
                    raise TransientSourceError(f"{hour}: {url} answered {response.status_code}")
                if response.status_code != 200:
                    raise SourceError(f"{hour}: {url} answered {response.status_code}")
                yield from response.iter_bytes(CHUNK_SIZE)
        except httpx.TransportError as exc:
            raise TransientSourceError(f"{hour}: fetching {url} failed: {exc}") from exc


def open_archive(location: str | Path) -> ArchiveSource:
    """The source for ``location``: an http(s) base URL or a local folder."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        return HttpArchive(text)
    path = Path(text.removeprefix("file://")).expanduser()
    if not path.is_dir():
        raise SourceError(f"{path} is not a folder of GH Archive hours")
    return LocalArchive(path)


def gunzip_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Inflate gzip ``chunks`` (one or several members) and yield lines without the newline.

    A final line without a newline is yielded too. Corrupt or truncated
    compressed data raises :class:`SourceError` after every complete line before
    the damage has been yielded.
    """
    inflater = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has received any bytes
    pending = b""
    for chunk in chunks:
        data = chunk
        while data:
            fed = True
            try:
                out = inflater.decompress(data)
            except zlib.error as exc:
                raise SourceError(f"corrupt gzip data: {exc}") from exc
            if out:
                pending += out
                *lines, pending = pending.split(b"\n")
                yield from lines
            if inflater.eof:
                # Concatenated gzip members: start a new inflater on what is left.
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=31)
                fed = False
            else:
                data = b""
    if fed and not inflater.eof:
        raise SourceError("truncated gzip data: the stream ended inside a member")
    if pending:
        yield pending
