"""GH Archive hours from a local folder or any HTTP mirror, streamed line by line.

The source is picked by the location's scheme: ``http://`` and ``https://``
stream from a mirror (data.gharchive.org or a compatible one, including
ghlake's own API), anything else is a local folder. Files are never buffered
whole: compressed chunks are inflated incrementally and split into lines.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar, cast

import httpx

from ghlake.errors import SourceError, Transient
from ghlake.hours import Hour

__all__ = [
    "ArchiveSource",
    "FetchedHour",
    "HourFetcher",
    "HourMissingError",
    "HttpArchive",
    "LocalArchive",
    "TransientSourceError",
    "gunzip_lines",
    "open_archive",
]

CHUNK_SIZE = 1 << 20

log = logging.getLogger(__name__)


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

    def close(self) -> None:
        """Release connections."""
        ...


class LocalArchive:
    """Hours stored as ``<root>/YYYY-MM-DD-H.json.gz``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        """The folder."""
        return str(self.root)

    def close(self) -> None:
        """Nothing to release."""

    def path(self, hour: Hour) -> Path:
        """Where the hour's file is (or would be)."""
        return self.root / hour.filename

    def chunks(self, hour: Hour) -> Iterator[bytes]:
        """Read the hour's file in chunks."""
        path = self.path(hour)
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

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

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


def open_archive(location: str | Path, timeout: float = 60.0) -> ArchiveSource:
    """The source for ``location``: an http(s) base URL or a local folder."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        client = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=True)
        return HttpArchive(text, client)
    path = Path(text.removeprefix("file://")).expanduser()
    if not path.is_dir():
        raise SourceError(f"{path} is not a folder of GH Archive hours")
    return LocalArchive(path)


def gunzip_lines(chunks: Iterable[bytes], *, read_ahead: bool = False) -> Iterator[bytes]:
    """Inflate gzip ``chunks`` (one or several members) and yield lines without the newline.

    A final line without a newline is yielded too. Corrupt or truncated
    compressed data raises :class:`SourceError` after every complete line before
    the damage has been yielded. With ``read_ahead`` the file is read and inflated
    on a thread of its own (zlib lets go of the interpreter while it inflates), a
    few blocks ahead of the lines' consumer, as ``zcat |`` would.
    """
    blocks = _inflate(chunks)
    pending = b""
    for block in _ahead(blocks, _READ_AHEAD_BLOCKS) if read_ahead else blocks:
        pending += block
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


_READ_AHEAD_BLOCKS = 4  # inflated blocks of up to ~8 MB each (a 1 MiB chunk of JSON gzip)


def _inflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The inflated bytes of gzip ``chunks``, block by block."""
    inflater = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has received any bytes
    for chunk in chunks:
        data = chunk
        while data:
            fed = True
            try:
                out = inflater.decompress(data)
            except zlib.error as exc:
                raise SourceError(f"corrupt gzip data: {exc}") from exc
            if out:
                yield out
            if inflater.eof:
                # Concatenated gzip members: start a new inflater on what is left.
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=31)
                fed = False
            else:
                data = b""
    if fed and not inflater.eof:
        raise SourceError("truncated gzip data: the stream ended inside a member")


class _Failed:
    """An exception raised by the producing side of :func:`_ahead`, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()
_T = TypeVar("_T")


def _ahead(items: Iterator[_T], depth: int) -> Iterator[_T]:
    """``items``, produced on a thread of their own up to ``depth`` ahead of the consumer.

    An exception on the producing side is raised to the consumer after the items
    before it. When the consumer stops early, the producer stops at its next item.
    """
    handoff: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            put(_Failed(exc))
        else:
            put(_END)
        finally:
            if isinstance(items, Generator):
                items.close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield cast(_T, item)
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class FetchedHour:
    """An hour's compressed file, complete on local disk, or why there is none."""

    hour: Hour
    path: Path | None  # None when no source has the hour
    size: int = 0
    sha256: str = ""
    origin: str = ""
    spooled: bool = False  # a downloaded copy (to delete once used), not the source's own file
    error: str | None = None
    failed: bool = False  # True when sources failed; False with no path means missing

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes in chunks."""
        if self.path is None:
            raise HourMissingError(self.error or f"{self.hour}: missing")
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                yield chunk

    def discard(self) -> None:
        """Delete a downloaded copy."""
        if self.spooled and self.path is not None:
            self.path.unlink(missing_ok=True)


class HourFetcher:
    """Fetches hours from a source and its fallback mirrors, with retries, onto local disk.

    Downloads stream to a spool file (never whole in memory) while the SHA-256
    and size are computed. A transient failure is retried with exponential
    backoff; a 404 or a terminal failure moves on to the next mirror. Local
    folders are read in place.
    """

    def __init__(
        self,
        sources: Sequence[ArchiveSource],
        spool_dir: Path,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not sources:
            raise SourceError("no GH Archive source configured")
        self.sources = list(sources)
        self.spool_dir = spool_dir
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def close(self) -> None:
        """Release every source's connections."""
        for source in self.sources:
            source.close()

    def fetch(self, hour: Hour) -> FetchedHour:
        """The hour from the first source that has it; missing when none has it."""
        errors: list[str] = []
        terminal: SourceError | None = None
        for source in self.sources:
            try:
                return self._fetch_with_retries(source, hour)
            except HourMissingError as exc:
                errors.append(str(exc))
            except SourceError as exc:
                errors.append(str(exc))
                terminal = exc
        if terminal is not None:
            raise SourceError(
                f"{hour}: no source could serve it: {'; '.join(errors)}"
            ) from terminal
        return FetchedHour(hour, None, error="; ".join(errors))

    def _fetch_with_retries(self, source: ArchiveSource, hour: Hour) -> FetchedHour:
        attempt = 0
        while True:
            try:
                if isinstance(source, LocalArchive):
                    return self._checksum_in_place(source, hour)
                return self._spool(source, hour)
            except TransientSourceError as exc:
                if attempt >= self.retries:
                    raise SourceError(f"{exc} (gave up after {attempt + 1} attempts)") from exc
                delay = self.backoff * 2**attempt
                attempt += 1
                log.warning(
                    "hour fetch failed; retrying",
                    extra={"hour": hour.name, "source": source.describe(), "attempt": attempt,
                           "delay_s": delay, "error": str(exc)},
                )  # fmt: skip
                self.sleep(delay)

    def _checksum_in_place(self, source: LocalArchive, hour: Hour) -> FetchedHour:
        digest, size = hashlib.sha256(), 0
        for chunk in source.chunks(hour):
            digest.update(chunk)
            size += len(chunk)
        return FetchedHour(hour, source.path(hour), size, digest.hexdigest(), source.describe())

    def _spool(self, source: ArchiveSource, hour: Hour) -> FetchedHour:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        final = self.spool_dir / hour.filename
        partial = final.with_suffix(f".part{os.getpid()}")
        digest, size = hashlib.sha256(), 0
        try:
            with partial.open("wb") as handle:
                for chunk in source.chunks(hour):
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            partial.replace(final)
        finally:
            partial.unlink(missing_ok=True)
        return FetchedHour(hour, final, size, digest.hexdigest(), source.describe(), spooled=True)

    def prefetch(self, hours: Iterable[Hour], concurrency: int = 2) -> Iterator[FetchedHour]:
        """Fetch ``hours`` in order, up to ``concurrency`` of them at once ahead of the consumer.

        A terminal failure of one hour is yielded as a missing-like result with the error,
        so the range goes on.
        """
        pending: list[tuple[Hour, Future[FetchedHour]]] = []
        hour_iter = iter(hours)
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch") as pool:
            for hour in hour_iter:
                pending.append((hour, pool.submit(self.fetch, hour)))
                if len(pending) >= concurrency:
                    break
            while pending:
                hour, future = pending.pop(0)
                next_hour = next(hour_iter, None)
                if next_hour is not None:
                    pending.append((next_hour, pool.submit(self.fetch, next_hour)))
                try:
                    yield future.result()
                except SourceError as exc:
                    yield FetchedHour(hour, None, error=str(exc), failed=True)
