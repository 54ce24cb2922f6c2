"""GitHub's public Events API over HTTP: pages, ETags, poll interval, rate limits, tokens.

One request is ``GET {base}/events?per_page=100&page=N``. The client follows
what GitHub documents for it:

* each page's ``ETag`` is sent back as ``If-None-Match``; a ``304`` means the
  page did not change (and, when authorized, costs no rate-limit budget);
* ``X-Poll-Interval`` is the fewest seconds between polls (the poller waits);
* ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` are tracked per token; a
  token out of budget is skipped until its reset, and when every token is out
  the client waits for the earliest reset;
* ``403``/``429`` with ``Retry-After`` (a secondary rate limit) waits that long,
  for every token, since switching tokens to dodge it is what GitHub forbids;
  without any header it waits a minute, doubling while it persists;
* ``5xx`` and transport failures are retried with capped exponential backoff,
  then raised as :class:`TransientLiveFeedError`; any other ``4xx`` is terminal.

Time is injected (``clock`` in epoch seconds, ``sleep``) so tests run without
waiting; the default sleep waits on the caller's stop event, so a long wait
for a rate-limit reset ends as soon as the poller is stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from ghlake.errors import ConfigError, GhLakeError, SourceError, Transient

__all__ = [
    "Clock",
    "EventsApiClient",
    "LiveConfig",
    "LiveFeedError",
    "PageResult",
    "PollStoppedError",
    "Sleep",
    "TransientLiveFeedError",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]  # epoch seconds, like time.time (X-RateLimit-Reset is epoch seconds)
Sleep = Callable[[float], None]

# Resets are announced in whole seconds by a clock that is not ours.
_RESET_MARGIN_S = 1.0


class LiveFeedError(SourceError):
    """The Events API refused a request in a way retrying will not fix."""


class TransientLiveFeedError(LiveFeedError, Transient):
    """The Events API could not be read now (server error, network, rate limit); retry later."""


class PollStoppedError(GhLakeError):
    """The caller's stop event was set while the poller was waiting."""


@dataclass(frozen=True)
class LiveConfig:
    """How to poll the Events API (settings.py turns its ``live`` section into this)."""

    base_url: str = "https://api.github.com"
    pages: int = 3  # GitHub serves at most 300 events: 3 pages of 100
    per_page: int = 100
    tokens: tuple[str, ...] = field(default=(), repr=False)
    min_interval_s: float = 60.0  # X-Poll-Interval may ask for more, never less
    user_agent: str = "ghlake"
    timeout_s: float = 30.0
    api_version: str = "2022-11-28"
    max_attempts: int = 5  # per page, for server errors, network failures and secondary limits
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    secondary_limit_wait_s: float = 60.0  # GitHub: "wait for at least one minute"
    dedup_capacity: int = 100_000

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"live base URL {self.base_url!r} must start with http:// or https://"
            )
        if not 1 <= self.per_page <= 100:
            raise ConfigError(
                f"live per_page must be 1..100 (GitHub's maximum), not {self.per_page}"
            )
        if not 1 <= self.pages * self.per_page <= 300:
            raise ConfigError(
                f"live pages x per_page must be 1..300: GitHub serves at most 300 events,"
                f" not {self.pages} x {self.per_page}"
            )
        if self.max_attempts < 1 or self.min_interval_s < 0 or self.timeout_s <= 0:
            raise ConfigError("live max_attempts must be >= 1, min_interval_s >= 0, timeout_s > 0")
        if any(not token.strip() for token in self.tokens):
            raise ConfigError("a live API token is empty")


@dataclass(frozen=True)
class PageResult:
    """One page as the API answered it."""

    page: int
    not_modified: bool  # 304: the page is what it was at the last poll
    items: tuple[Any, ...]  # the JSON array's elements (empty when not modified)
    poll_interval_s: float | None  # X-Poll-Interval
    rate_limit_remaining: int | None  # of the token that made the request
    waited_s: float  # spent waiting for rate limits and backoff before the answer
    attempts: int
    requested_at: float  # epoch seconds of the request that was answered


@dataclass
class _Budget:
    """What GitHub last said about one token's (or the anonymous) rate limit."""

    number: int  # 1-based, for logs: tokens are never logged
    token: str | None
    remaining: int | None = None
    reset_at: float = 0.0
    blocked_until: float = 0.0

    def available_at(self, now: float) -> float:
        """When this budget may be used again (``now`` when it may be used now)."""
        when = self.blocked_until
        if self.remaining == 0:
            when = max(when, self.reset_at + _RESET_MARGIN_S)
        return max(when, now)


def _header_float(headers: httpx.Headers, name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _retry_after(headers: httpx.Headers, now: float) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:  # the HTTP-date form
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.text[:200]


class EventsApiClient:
    """Reads pages of ``/events`` for a poller; remembers ETags and rate limits between polls."""

    def __init__(
        self,
        config: LiveConfig,
        http: httpx.Client | None = None,
        *,
        clock: Clock = time.time,
        sleep: Sleep | None = None,
    ) -> None:
        self.config = config
        self._owns_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0)),
            follow_redirects=True,
        )
        self._clock = clock
        self._sleep = sleep
        self.url = f"{config.base_url.rstrip('/')}/events"
        tokens: tuple[str | None, ...] = config.tokens or (None,)
        self._budgets = [_Budget(n, token) for n, token in enumerate(tokens, start=1)]
        self._cursor = 0
        self._etags: dict[int, str] = {}
        self._secondary_hits = 0
        self.poll_interval_s: float | None = None  # the last X-Poll-Interval seen

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> EventsApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def now(self) -> float:
        """The injected clock, in epoch seconds."""
        return self._clock()

    def wait(self, seconds: float, stop: threading.Event | None = None) -> None:
        """Wait ``seconds`` (injected sleep, else on ``stop``); raise :class:`PollStoppedError`."""
        if seconds > 0:
            if self._sleep is not None:
                self._sleep(seconds)
            elif stop is not None:
                stop.wait(seconds)
            else:
                time.sleep(seconds)
        if stop is not None and stop.is_set():
            raise PollStoppedError("the live poller was asked to stop")

    def forget_etags(self, pages: Iterable[int] | None = None) -> None:
        """Drop the ETags of ``pages`` (default: all), so the next poll reads them in full."""
        if pages is None:
            self._etags.clear()
        for page in pages or ():
            self._etags.pop(page, None)

    @property
    def rate_limit_remaining(self) -> int | None:
        """The budget left over every token, as last reported (None before any answer)."""
        known = [b.remaining for b in self._budgets if b.remaining is not None]
        return sum(known) if known else None

    def _next_budget(self, stop: threading.Event | None) -> tuple[_Budget, float]:
        """The next token in turn that has budget, waiting for a reset if none has."""
        waited = 0.0
        while True:
            now = self._clock()
            count = len(self._budgets)
            for step in range(count):
                budget = self._budgets[(self._cursor + step) % count]
                if budget.available_at(now) <= now:
                    self._cursor = (self._cursor + step + 1) % count
                    return budget, waited
            until = min(b.available_at(now) for b in self._budgets)
            log.warning(
                "every live API token is rate limited; waiting",
                extra={"wait_s": round(until - now, 1), "tokens": count},
            )
            self.wait(until - now, stop)
            waited += until - now

    def _note_limits(self, budget: _Budget, headers: httpx.Headers) -> None:
        remaining = _header_float(headers, "x-ratelimit-remaining")
        reset = _header_float(headers, "x-ratelimit-reset")
        if remaining is not None:
            budget.remaining = int(remaining)
        if reset is not None:
            budget.reset_at = reset
        interval = _header_float(headers, "x-poll-interval")
        if interval is not None:
            self.poll_interval_s = interval

    def _rate_limit_wait(self, response: httpx.Response, budget: _Budget) -> float | None:
        """Seconds to hold off after a 403/429, or None when it is not a rate limit."""
        now = self._clock()
        retry_after = _retry_after(response.headers, now)
        if retry_after is not None:
            self._secondary_hits += 1
            for other in self._budgets:  # secondary limits are not dodged by switching tokens
                other.blocked_until = max(other.blocked_until, now + retry_after)
            return retry_after
        if budget.remaining == 0:
            until_reset = budget.reset_at + _RESET_MARGIN_S - now
            if until_reset > 0:
                return until_reset  # only this token waits; another one may have budget
            # Out of budget with a reset already past: a clock that disagrees with ours.
            budget.blocked_until = now + self.config.secondary_limit_wait_s
            return self.config.secondary_limit_wait_s
        if response.status_code == 429 or "rate limit" in _message(response).lower():
            self._secondary_hits += 1
            wait = min(
                self.config.secondary_limit_wait_s * 2.0 ** (self._secondary_hits - 1),
                max(self.config.backoff_max_s, self.config.secondary_limit_wait_s),
            )
            for other in self._budgets:
                other.blocked_until = max(other.blocked_until, now + wait)
            return wait
        return None

    def _headers(self, page: int, budget: _Budget) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": self.config.api_version,
            "User-Agent": self.config.user_agent,
        }
        if budget.token is not None:
            headers["Authorization"] = f"Bearer {budget.token}"
        etag = self._etags.get(page)
        if etag is not None:
            headers["If-None-Match"] = etag
        return headers

    def _terminal(self, page: int, response: httpx.Response, budget: _Budget) -> LiveFeedError:
        status, message = response.status_code, _message(response)
        hint = {
            401: f"token {budget.number} of {len(self.config.tokens)} was refused; replace it"
            if budget.token is not None
            else "the server requires a token; pass one",
            403: "the token lacks access, or the server refuses this client",
            404: f"no Events API at {self.url}; check the base URL",
        }.get(status, "the request is not one the Events API accepts")
        return LiveFeedError(
            f"{self.url} page {page} answered {status} ({message.strip() or 'no message'}): {hint}"
        )

    def fetch_page(self, page: int, stop: threading.Event | None = None) -> PageResult:
        """Read one page, waiting out rate limits and retrying transient failures."""
        params = {"per_page": self.config.per_page, "page": page}
        failures = limited = attempts = 0
        waited = 0.0
        # Every token may need one wait for its reset; beyond that, give the poll up.
        most_limited = self.config.max_attempts + len(self._budgets)
        while True:
            budget, budget_wait = self._next_budget(stop)
            waited += budget_wait
            attempts += 1
            requested_at = self._clock()
            try:
                response = self._http.get(
                    self.url, params=params, headers=self._headers(page, budget)
                )
            except httpx.UnsupportedProtocol as exc:
                raise LiveFeedError(f"{self.url} cannot be fetched: {exc}") from exc
            except (httpx.TransportError, httpx.DecodingError) as exc:
                failure = f"fetching {self.url} page {page} failed: {exc!r}"
            else:
                self._note_limits(budget, response.headers)
                status = response.status_code
                if status in (200, 304):
                    self._secondary_hits = 0
                    items = self._items(page, response)
                    if items is not None:
                        return PageResult(
                            page=page,
                            not_modified=status == 304,
                            items=items,
                            poll_interval_s=_header_float(response.headers, "x-poll-interval"),
                            rate_limit_remaining=budget.remaining,
                            waited_s=waited,
                            attempts=attempts,
                            requested_at=requested_at,
                        )
                    failure = (
                        f"{self.url} page {page} answered 200 with a body that is not a JSON array"
                    )
                elif status in (403, 429) and (
                    (hold := self._rate_limit_wait(response, budget)) is not None
                ):
                    limited += 1
                    log.warning(
                        "live API rate limited",
                        extra={"page": page, "status": status, "token_number": budget.number,
                               "wait_s": round(hold, 1), "limited": limited},
                    )  # fmt: skip
                    if limited >= most_limited:
                        raise TransientLiveFeedError(
                            f"{self.url} page {page}: still rate limited after {limited}"
                            f" answers {status} ({_message(response)}); the next poll retries"
                        )
                    continue  # _next_budget waits, or picks a token that has budget
                elif status >= 500:
                    failure = f"{self.url} page {page} answered {status}"
                else:
                    raise self._terminal(page, response, budget)
            failures += 1
            if failures >= self.config.max_attempts:
                raise TransientLiveFeedError(f"{failure} ({failures} attempts)")
            delay = min(
                self.config.backoff_initial_s * 2.0 ** (failures - 1), self.config.backoff_max_s
            )
            log.warning(
                "live API request failed; retrying",
                extra={"page": page, "failure": failure, "attempt": failures, "wait_s": delay},
            )
            self.wait(delay, stop)
            waited += delay

    def _items(self, page: int, response: httpx.Response) -> tuple[Any, ...] | None:
        """The items of a 200 or 304 (remembering a 200's ETag); None for a body not a list."""
        if response.status_code == 304:
            return ()
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, list):
            return None
        etag = response.headers.get("etag")
        if etag:
            self._etags[page] = etag
        else:
            self._etags.pop(page, None)
        return tuple(body)
