"""The live poller against a local GitHub Events API that behaves as GitHub documents it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from ghlake.errors import ConfigError, is_transient
from ghlake.events.identity import EventIdentity
from ghlake.sources.live import (
    EventsApiClient,
    LiveConfig,
    LiveFeedError,
    LivePoller,
    SeenEvents,
    TransientLiveFeedError,
)
from tests.fakes.clock import FakeClock
from tests.fakes.github_api import FakeGitHubApi, load_events

EXTRACT = "events-2021-01-01-1-first1000.ndjson.gz"  # 1,000 real Events-API-era events

BuildPoller = Callable[..., LivePoller]


@pytest.fixture(scope="module")
def events(gharchive_dir: Path) -> list[bytes]:
    """Real event lines, oldest first."""
    return load_events(gharchive_dir / EXTRACT)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(events: list[bytes], clock: FakeClock) -> Iterator[FakeGitHubApi]:
    with FakeGitHubApi(events, clock=clock.now, tokens={"tok-a": 5000, "tok-b": 5000}) as fake:
        yield fake


@pytest.fixture
def build(clock: FakeClock) -> Iterator[BuildPoller]:
    """Make a poller for a fake API: real HTTP, the fake clock, config overrides."""
    clients: list[httpx.Client] = []

    def make(api: FakeGitHubApi | str, **config: object) -> LivePoller:
        http = httpx.Client(timeout=5)
        clients.append(http)
        base = api if isinstance(api, str) else api.base_url
        settings = LiveConfig(base_url=base, **config)  # type: ignore[arg-type]
        return LivePoller(EventsApiClient(settings, http, clock=clock.now, sleep=clock.sleep))

    yield make
    for http in clients:
        http.close()


def _ids(lines: tuple[bytes, ...] | list[bytes]) -> list[str]:
    return [orjson.loads(line)["id"] for line in lines]


# -- pages and the events themselves -------------------------------------------------------


def test_every_page_is_read_with_per_page_100_and_the_documented_headers(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    served = api.visible()
    result = build(api, tokens=("tok-a",)).poll_once()

    requests = api.requests
    assert [(r.path, r.params) for r in requests] == [
        ("/events", {"per_page": "100", "page": str(page)}) for page in (1, 2, 3)
    ]
    for request in requests:
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"] == "ghlake"
        assert request.headers["authorization"] == "Bearer tok-a"
        assert "if-none-match" not in request.headers, "nothing to match on the first poll"
    assert (result.pages_fetched, result.pages_not_modified) == (3, 0)
    assert (result.received, result.new, result.duplicates) == (300, 300, 0)
    assert sorted(_ids(result.lines)) == sorted(_ids(served))


def test_new_lines_are_the_api_objects_compact_in_key_order_oldest_first(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    result = build(api).poll_once()

    originals = {orjson.loads(line)["id"]: line for line in api.visible()}
    for line in result.lines:
        original = originals[orjson.loads(line)["id"]]
        # Same object, same key order at every depth, no whitespace.
        assert line == orjson.dumps(orjson.loads(original))
    created = [orjson.loads(line)["created_at"] for line in result.lines]
    assert created == sorted(created)


# -- ETags and deduplication ---------------------------------------------------------------


def test_etags_are_sent_back_and_304_pages_yield_nothing(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    poller = build(api, tokens=("tok-a",))
    first = poller.poll_once()
    second = poller.poll_once()

    earlier, later = api.requests[:3], api.requests[3:]
    assert all(r.status == 200 and r.etag for r in earlier)
    assert [r.headers.get("if-none-match") for r in later] == [r.etag for r in earlier]
    assert [r.status for r in later] == [304, 304, 304]
    assert (second.pages_fetched, second.pages_not_modified) == (3, 3)
    assert (second.received, second.new, second.duplicates, second.lines) == (0, 0, 0, ())
    assert second.rate_limit_remaining == first.rate_limit_remaining, "authorized 304s are free"


def test_overlapping_polls_are_deduplicated_exactly(api: FakeGitHubApi, build: BuildPoller) -> None:
    poller = build(api)
    first = poller.poll_once()
    added = api.advance(37)
    second = poller.poll_once()
    added_more = api.advance(120)
    third = poller.poll_once()

    assert (second.received, second.new, second.duplicates) == (300, 37, 263)
    assert sorted(_ids(second.lines)) == sorted(_ids(added))
    assert (third.received, third.new, third.duplicates) == (300, 120, 180)
    assert sorted(_ids(third.lines)) == sorted(_ids(added_more))
    everything = [*first.lines, *second.lines, *third.lines]
    keys = [EventIdentity.of_event(orjson.loads(line), line) for line in everything]
    assert len(keys) == len(set(keys)) == 457
    assert [first.gap, second.gap, third.gap] == [False, False, False]


def test_events_shifting_pages_during_a_poll_are_counted_once(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    poller = build(api)
    api.advance_after(answers=1, events=10)  # 10 new events land right after page 1
    first = poller.poll_once()
    second = poller.poll_once()

    # Page 2 now starts with the last 10 of page 1: seen twice, kept once.
    assert (first.received, first.new, first.duplicates) == (300, 290, 10)
    assert second.new == 10, "the 10 that arrived mid-poll come with the next poll"
    ids = _ids([*first.lines, *second.lines])
    assert len(ids) == len(set(ids)) == 300


def test_a_reused_id_with_another_created_at_is_a_new_event(
    events: list[bytes], clock: FakeClock, build: BuildPoller
) -> None:
    # GitHub reuses ids (ids since 2026-08 collide with 2020 ids): identity is (id, created_at).
    original = orjson.loads(events[0])
    reused = dict(original, created_at="2026-08-15T10:00:00Z")
    feed = [events[0], *events[1:99], orjson.dumps(reused)]
    with FakeGitHubApi(feed, initial=100, clock=clock.now) as fake:
        result = build(fake, pages=1).poll_once()
    assert (result.received, result.new, result.duplicates) == (100, 100, 0)
    assert _ids(result.lines).count(original["id"]) == 2


def test_a_feed_that_moved_past_its_window_is_reported_as_a_gap(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    poller = build(api)
    poller.poll_once()
    api.advance(300)  # the whole window replaced: whatever came between was missed
    result = poller.poll_once()
    assert result.gap
    assert result.new == 300


def test_seen_events_hold_at_most_their_capacity() -> None:
    seen = SeenEvents(capacity=1000)
    for n in range(50_000):
        assert seen.add((str(n), "2021-01-01T01:00:00+00:00"))
    assert len(seen) == 1000
    assert seen.evicted == 49_000
    assert ("49999", "2021-01-01T01:00:00+00:00") in seen
    assert ("0", "2021-01-01T01:00:00+00:00") not in seen

    # Seeing a key again keeps it: it is still in the feed.
    kept = ("49000", "2021-01-01T01:00:00+00:00")
    for n in range(50_000, 52_000):
        assert not seen.add(kept)
        seen.add((str(n), "2021-01-01T01:00:00+00:00"))
    assert kept in seen
    assert len(seen) == 1000


def test_the_smallest_allowed_capacity_still_deduplicates_exactly(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    poller = build(api, dedup_capacity=600)  # two polls of 300 events
    results = [poller.poll_once()]
    for _ in range(6):
        api.advance(100)
        results.append(poller.poll_once())
    assert [r.new for r in results] == [300, 100, 100, 100, 100, 100, 100]
    assert len(poller.seen) <= 600
    assert poller.seen.evicted > 0, "the bound was reached"
    ids = _ids([line for r in results for line in r.lines])
    assert len(ids) == len(set(ids)) == 900


def test_a_capacity_below_two_polls_is_refused(api: FakeGitHubApi, build: BuildPoller) -> None:
    with pytest.raises(ConfigError, match="600"):
        build(api, dedup_capacity=599)


# -- pacing and rate limits ----------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [(90, 10.0, 90.0), (30, 120.0, 120.0)],
    ids=["server-asks-more", "minimum-is-more"],
)
def test_polls_are_never_closer_than_the_poll_interval(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock, case: tuple[int, float, float]
) -> None:
    server_asks, minimum, expected = case
    api.poll_interval = server_asks
    poller = build(api, min_interval_s=minimum)
    first = poller.poll_once()
    assert clock.sleeps == [], "the first poll starts at once"
    second = poller.poll_once()

    assert first.poll_interval_s == server_asks
    assert sum(clock.sleeps) >= expected
    assert (second.window_start - first.window_start).total_seconds() >= expected
    first_page_times = [r for r in api.requests if r.page == 1]
    assert len(first_page_times) == 2


def test_an_exhausted_token_waits_for_its_reset_without_asking(
    events: list[bytes], clock: FakeClock, build: BuildPoller
) -> None:
    with FakeGitHubApi(events, clock=clock.now, tokens={"tok-a": 3}) as fake:
        poller = build(fake, tokens=("tok-a",), min_interval_s=0)
        first = poller.poll_once()
        reset = fake.reset_at("tok-a")
        fake.advance(5)
        second = poller.poll_once()

    assert first.rate_limit_remaining == 0
    assert clock.now() >= reset, "the second poll waited until the budget was refilled"
    assert all(r.status != 403 for r in fake.requests), "it knew; it did not ask in vain"
    assert second.new == 5


def test_a_403_rate_limit_waits_until_the_reset_then_succeeds(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock
) -> None:
    api.poll_interval = 0
    poller = build(api, tokens=("tok-a",), min_interval_s=0)
    poller.poll_once()
    api.set_remaining("tok-a", 0)  # spent by another client with the same token
    reset = api.reset_at("tok-a")
    api.advance(20)
    before = clock.now()
    result = poller.poll_once()

    assert [r.status for r in api.requests[3:]] == [403, 200, 200, 200]
    # Until the announced reset, plus a second for clocks that disagree; nothing else.
    assert clock.sleeps == [pytest.approx(reset + 1 - before)]
    assert result.waited_s == pytest.approx(reset + 1 - before)
    assert result.new == 20


def test_an_exhausted_token_is_skipped_for_one_with_budget(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock
) -> None:
    api.set_remaining("tok-a", 0)
    result = build(api, tokens=("tok-a", "tok-b")).poll_once()

    assert [(r.token, r.status) for r in api.requests] == [
        ("tok-a", 403),
        ("tok-b", 200),
        ("tok-b", 200),
        ("tok-b", 200),
    ]
    assert clock.sleeps == [], "no waiting while another token has budget"
    assert result.new == 300


def test_tokens_take_turns(api: FakeGitHubApi, build: BuildPoller) -> None:
    build(api, tokens=("tok-a", "tok-b")).poll_once()
    assert [r.token for r in api.requests] == ["tok-a", "tok-b", "tok-a"]


def test_a_429_waits_as_long_as_retry_after_says(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock
) -> None:
    api.fail_next(
        429, headers={"Retry-After": "42"}, message="You have exceeded a secondary rate limit."
    )
    result = build(api, tokens=("tok-a", "tok-b")).poll_once()

    assert [r.status for r in api.requests] == [429, 200, 200, 200]
    assert clock.sleeps == [pytest.approx(42.0)], "no token may dodge a secondary limit"
    assert result.new == 300


def test_a_secondary_limit_without_headers_waits_a_minute(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock
) -> None:
    api.fail_next(403, message="You have exceeded a secondary rate limit.")
    result = build(api, tokens=("tok-a",)).poll_once()
    assert clock.sleeps == [pytest.approx(60.0)]
    assert result.pages_fetched == 3


# -- failures ------------------------------------------------------------------------------


def test_a_500_is_retried_with_backoff_then_succeeds(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock
) -> None:
    api.fail_next(500, times=2)
    api.drop_next()
    result = build(api).poll_once()
    assert [r.status for r in api.requests] == [500, 500, 0, 200, 200, 200]
    assert clock.sleeps == [1.0, 2.0, 4.0], "capped exponential backoff"
    assert result.new == 300


def test_a_server_that_keeps_failing_is_a_transient_error(
    api: FakeGitHubApi, build: BuildPoller, clock: FakeClock
) -> None:
    api.fail_next(503, times=10)
    with pytest.raises(TransientLiveFeedError, match=r"page 1 answered 503 \(4 attempts\)") as err:
        build(api, max_attempts=4, backoff_max_s=3).poll_once()
    assert is_transient(err.value)
    assert clock.sleeps == [1.0, 2.0, 3.0]
    assert len(api.requests) == 4


def test_pages_read_by_a_failed_poll_are_read_again_in_full(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    poller = build(api, max_attempts=2)
    poller.poll_once()
    added = api.advance(30)
    api.fail_next(503, times=2, after=1)  # page 1 is served, then page 2 keeps failing
    with pytest.raises(TransientLiveFeedError):
        poller.poll_once()
    result = poller.poll_once()

    retry = api.requests[-3:]
    assert [(r.page, r.status) for r in retry] == [(1, 200), (2, 200), (3, 200)]
    assert "if-none-match" not in retry[0].headers, "page 1's ETag went with the failed poll"
    assert sorted(_ids(result.lines)) == sorted(_ids(added))


def test_an_unreachable_server_is_a_transient_error(build: BuildPoller) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientLiveFeedError, match="ConnectError") as err:
        build(f"http://127.0.0.1:{port}", max_attempts=2).poll_once()
    assert is_transient(err.value)


def test_a_404_is_terminal_and_names_the_url(api: FakeGitHubApi, build: BuildPoller) -> None:
    with pytest.raises(LiveFeedError, match=r"answered 404 .*check the base URL") as err:
        build(f"{api.base_url}/not-the-api").poll_once()
    assert not is_transient(err.value)
    assert f"{api.base_url}/not-the-api/events" in str(err.value)
    assert len(api.requests) == 1, "a terminal error is not retried"


def test_a_refused_token_is_terminal_and_not_printed(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    with pytest.raises(LiveFeedError, match=r"401 .*Bad credentials.*token 1 of 1") as err:
        build(api, tokens=("ghp_revoked_secret",)).poll_once()
    assert not is_transient(err.value)
    assert "ghp_revoked_secret" not in str(err.value)
    assert len(api.requests) == 1


def test_a_forbidden_answer_without_rate_limit_signs_is_terminal(
    api: FakeGitHubApi, build: BuildPoller
) -> None:
    api.fail_next(403, message="Resource not accessible by integration")
    with pytest.raises(LiveFeedError, match="403") as err:
        build(api, tokens=("tok-a",)).poll_once()
    assert not is_transient(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("per_page", 101), ("pages", 4), ("base_url", "ftp://example.org"), ("tokens", ("",))],
)
def test_impossible_configs_are_refused(field: str, value: object) -> None:
    with pytest.raises(ConfigError):
        LiveConfig(**{field: value})  # type: ignore[arg-type]


def test_tokens_stay_out_of_the_config_repr() -> None:
    assert "ghp_secret" not in repr(LiveConfig(tokens=("ghp_secret",)))
