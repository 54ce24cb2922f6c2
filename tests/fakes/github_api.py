"""A local GitHub Events API (``GET /events``) that behaves as GitHub documents it.

* The feed is a rolling window of the 300 most recent events, newest first, served
  in pages (``per_page`` up to 100, ``page`` up to 300 / per_page; beyond: 422).
* Each page carries a weak ``ETag``; a request whose ``If-None-Match`` matches gets
  ``304`` without a body. An authorized 304 costs no rate-limit budget; an
  anonymous one does.
* Every answer carries ``X-Poll-Interval`` and ``X-RateLimit-Limit/-Remaining/
  -Reset/-Used/-Resource``; budgets are per token (``Authorization: Bearer`` or
  ``token``) or anonymous, refilled when the reset time passes, and an exhausted
  budget answers ``403`` "API rate limit exceeded" with ``Remaining: 0``. An
  unknown token answers ``401`` "Bad credentials"; an unknown path ``404``.
* Scripted faults go first: any status with headers (``429`` + ``Retry-After``,
  ``500``...), or a dropped connection.
* :meth:`FakeGitHubApi.advance` publishes newer events on top (older ones shift to
  later pages and off the end), also in the middle of a poll.

Every request is recorded with its headers. Time comes from an injected clock
(the tests' :class:`~tests.fakes.clock.FakeClock`), so resets need no waiting.
Events are real GH Archive lines, read at test time (:func:`load_events`).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

__all__ = ["FEED_SIZE", "FakeGitHubApi", "RecordedRequest", "load_events"]

FEED_SIZE = 300  # GitHub: "up to 300 events", the last 90 days at most
DOCS = "https://docs.github.com/rest/activity/events"


def load_events(path: Path, limit: int | None = None, *, id_base: int | None = None) -> list[bytes]:
    """Real event lines from a GH Archive extract, oldest first.

    ``id_base`` renumbers the events ``id_base``, ``id_base + 1`` ... (everything
    else unchanged), so events a test publishes to a shared topic are its own.
    """
    with gzip.open(path, "rb") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    lines = lines[:limit]
    if id_base is None:
        return lines
    renumbered = []
    for offset, line in enumerate(lines):
        event = orjson.loads(line)
        event["id"] = str(id_base + offset)
        renumbered.append(orjson.dumps(event))
    return renumbered


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, and what it answered."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]  # names in lower case
    status: int  # 0: the connection was dropped
    etag: str | None  # the ETag answered

    @property
    def page(self) -> int:
        """The page asked for."""
        return int(self.params.get("page", "1"))

    @property
    def token(self) -> str | None:
        """The token sent, if any."""
        auth = self.headers.get("authorization", "")
        return auth.split(" ", 1)[1] if " " in auth else None


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset_at: float


@dataclass(frozen=True)
class _Scripted:
    status: int
    headers: dict[str, str]
    body: bytes
    drop: bool = False
    not_before: int = 0  # applies from this request number on (0-based)


_Answer = tuple[int, dict[str, str], bytes]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        answer = self.server.api.answer(self.path, dict(self.headers.items()))
        if answer is None:  # a dropped connection
            self.close_connection = True
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the requests are recorded instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeGitHubApi


class FakeGitHubApi:
    """GitHub's ``/events`` on loopback, with a scripted feed, budgets and faults."""

    def __init__(
        self,
        events: Sequence[bytes],
        *,
        initial: int = FEED_SIZE,
        poll_interval: int = 60,
        tokens: Mapping[str, int] | None = None,
        anonymous_limit: int = 60,
        window_s: float = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._reservoir = list(events)  # oldest first
        self._published = min(initial, len(self._reservoir))
        self.poll_interval = poll_interval
        self._clock = clock
        self._window_s = window_s
        now = clock()
        self._buckets: dict[str | None, _Bucket] = {
            token: _Bucket(limit, limit, now + window_s) for token, limit in (tokens or {}).items()
        }
        self._buckets[None] = _Bucket(anonymous_limit, anonymous_limit, now + window_s)
        self._script: list[_Scripted] = []
        self._advances: list[list[int]] = []  # [answers still to serve, events to add]
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGitHubApi:
        """Serve on a free loopback port."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.api = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeGitHubApi:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """Where the API is served (GitHub's https://api.github.com)."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- the feed ----------------------------------------------------------------------------

    def visible(self) -> list[bytes]:
        """The events the feed shows now, newest first."""
        with self._lock:
            return self._visible()

    def _visible(self) -> list[bytes]:
        start = max(self._published - FEED_SIZE, 0)
        return self._reservoir[start : self._published][::-1]

    def advance(self, events: int) -> list[bytes]:
        """Publish the next ``events`` events on top of the feed; returns them, oldest first."""
        with self._lock:
            return self._advance(events)

    def _advance(self, events: int) -> list[bytes]:
        if self._published + events > len(self._reservoir):
            raise ValueError(f"the fake feed holds only {len(self._reservoir)} events")
        added = self._reservoir[self._published : self._published + events]
        self._published += events
        return added

    def advance_after(self, answers: int, events: int) -> None:
        """Publish ``events`` new events right after the next ``answers`` pages are served."""
        with self._lock:
            self._advances.append([answers, events])

    # -- budgets and faults ------------------------------------------------------------------

    def set_remaining(self, token: str | None, remaining: int) -> None:
        """Spend a budget elsewhere (another client with the same token)."""
        with self._lock:
            self._bucket(token).remaining = remaining

    def reset_at(self, token: str | None) -> float:
        """When ``token``'s budget is refilled, in epoch seconds."""
        with self._lock:
            return self._bucket(token).reset_at

    def fail_next(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        message: str = "",
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer ``times`` requests with ``status``, once ``after`` more requests were served."""
        body = orjson.dumps({"message": message, "documentation_url": DOCS}) if message else b""
        out = {"Content-Type": "application/json", **(headers or {})}
        with self._lock:
            entry = _Scripted(status, out, body, not_before=len(self._requests) + after)
            self._script.extend([entry] * times)

    def drop_next(self, times: int = 1) -> None:
        """Close the connection of the next ``times`` requests without answering."""
        with self._lock:
            self._script.extend([_Scripted(0, {}, b"", drop=True)] * times)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in order."""
        with self._lock:
            return list(self._requests)

    # -- answering ---------------------------------------------------------------------------

    def _bucket(self, token: str | None) -> _Bucket:
        bucket = self._buckets[token]
        now = self._clock()
        if now >= bucket.reset_at:
            bucket.remaining, bucket.reset_at = bucket.limit, now + self._window_s
        return bucket

    def answer(self, target: str, raw_headers: dict[str, str]) -> _Answer | None:
        """The answer to ``GET target`` (None: drop the connection); records the request."""
        url = urlsplit(target)
        params = {name: values[-1] for name, values in parse_qs(url.query).items()}
        headers = {name.lower(): value for name, value in raw_headers.items()}
        with self._lock:
            answer = self._answer(url.path, params, headers)
            status = answer[0] if answer is not None else 0
            etag = answer[1].get("ETag") if answer is not None else None
            self._requests.append(RecordedRequest(url.path, params, headers, status, etag))
            if status in (200, 304):
                for pending in self._advances:
                    pending[0] -= 1
                for pending in [p for p in self._advances if p[0] <= 0]:
                    self._advances.remove(pending)
                    self._advance(pending[1])
            return answer

    def _answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> _Answer | None:
        if self._script and self._script[0].not_before <= len(self._requests):
            scripted = self._script.pop(0)
            return None if scripted.drop else (scripted.status, scripted.headers, scripted.body)
        if path != "/events":
            return _json(404, {"message": "Not Found", "documentation_url": DOCS})
        auth = headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if auth.startswith(("Bearer ", "token ")) else None
        if auth and token not in self._buckets:
            return _json(401, {"message": "Bad credentials", "documentation_url": DOCS})
        bucket = self._bucket(token)
        if bucket.remaining <= 0:
            who = "user ID 1" if token else "127.0.0.1"
            status, out, body = _json(
                403, {"message": f"API rate limit exceeded for {who}.", "documentation_url": DOCS}
            )
            return status, {**out, **self._limit_headers(bucket)}, body
        return self._page(params, headers, token, bucket)

    def _page(
        self, params: dict[str, str], headers: dict[str, str], token: str | None, bucket: _Bucket
    ) -> _Answer:
        per_page = min(int(params.get("per_page", "30")), 100)
        page = int(params.get("page", "1"))
        if page < 1 or (page - 1) * per_page >= FEED_SIZE:
            return _json(422, {"message": "In order to keep the API fast for everyone,"
                               " pagination is limited for this resource.",
                               "documentation_url": DOCS})  # fmt: skip
        shown = self._visible()[(page - 1) * per_page : page * per_page]
        body = b"[" + b",".join(shown) + b"]"
        etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
        matches = {tag.strip() for tag in headers.get("if-none-match", "").split(",")}
        not_modified = etag in matches
        if not (not_modified and token is not None):  # an authorized 304 is free
            bucket.remaining -= 1
        out = {
            "ETag": etag,
            "X-Poll-Interval": str(self.poll_interval),
            "Link": self._links(page, per_page),
            **self._limit_headers(bucket),
        }
        if not_modified:
            return 304, out, b""
        return 200, {"Content-Type": "application/json; charset=utf-8", **out}, body

    def _limit_headers(self, bucket: _Bucket) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(bucket.remaining, 0)),
            "X-RateLimit-Reset": str(int(bucket.reset_at)),
            "X-RateLimit-Used": str(bucket.limit - max(bucket.remaining, 0)),
            "X-RateLimit-Resource": "core",
        }

    def _links(self, page: int, per_page: int) -> str:
        last = -(-FEED_SIZE // per_page)
        base = f"{self.base_url}/events?per_page={per_page}&page="
        links = [f'<{base}{page + 1}>; rel="next"'] if page < last else []
        return ", ".join([*links, f'<{base}{last}>; rel="last"'])


def _json(status: int, body: object) -> _Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, orjson.dumps(body)
