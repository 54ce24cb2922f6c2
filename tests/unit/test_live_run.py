"""The live poller's run loop: publishing, pacing, surviving failures, stopping; the CLI's help."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import typer
from typer.testing import CliRunner

from ghlake.cli.poll import poll
from ghlake.errors import GhLakeError
from ghlake.events.provenance import Provenance
from ghlake.ingest.live import LiveIngest
from ghlake.kafka.producer import DeliveryError, PublishResult
from ghlake.ledger import Ledger
from ghlake.sources.live import (
    EventsApiClient,
    LiveConfig,
    LiveFeedError,
    LivePoller,
    PollResult,
)
from tests.fakes.clock import FakeClock
from tests.fakes.github_api import FakeGitHubApi, load_events

EXTRACT = "events-2021-01-01-1-first1000.ndjson.gz"


class RecordingSink:
    """Stands in for the Kafka publisher in fast tests (the integration test uses the broker)."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[tuple[list[bytes], Provenance]] = []
        self.failures = failures

    def publish_lines(self, lines: Iterable[bytes], provenance: Provenance) -> PublishResult:
        batch = list(lines)
        if self.failures:
            self.failures -= 1
            raise DeliveryError(f"hour {provenance.hour}: 3 of {len(batch)} messages were lost")
        self.batches.append((batch, provenance))
        return PublishResult(len(batch), len(batch), 0, sum(map(len, batch)), 0.0)


@pytest.fixture(scope="module")
def events(gharchive_dir: Path) -> list[bytes]:
    return load_events(gharchive_dir / EXTRACT)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # 2026-01-01T00:00:00Z


@pytest.fixture
def api(events: list[bytes], clock: FakeClock) -> Iterator[FakeGitHubApi]:
    with FakeGitHubApi(events, clock=clock.now, tokens={"tok": 5000}) as fake:
        yield fake


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield ledger
    ledger.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def _poller(
    api: FakeGitHubApi, http: httpx.Client, clock: FakeClock, **config: object
) -> LivePoller:
    settings = LiveConfig(base_url=api.base_url, tokens=("tok",), **config)  # type: ignore[arg-type]
    return LivePoller(EventsApiClient(settings, http, clock=clock.now, sleep=clock.sleep))


def test_run_publishes_new_events_with_live_provenance_at_the_poll_interval(
    api: FakeGitHubApi, http: httpx.Client, clock: FakeClock, ledger: Ledger
) -> None:
    api.poll_interval = 90
    sink = RecordingSink()
    polls: list[PollResult] = []

    def on_poll(result: PollResult, published: PublishResult | None) -> None:
        assert published is not None
        assert published.published == result.new
        polls.append(result)
        api.advance(25)

    ingest = LiveIngest(_poller(api, http, clock), sink, ledger)
    summary = ingest.run(threading.Event(), on_poll, max_polls=3)

    assert (summary.polls, summary.failed_polls) == (3, 0)
    assert (summary.received, summary.new, summary.duplicates) == (900, 350, 550)
    assert summary.published == 350
    assert [len(batch) for batch, _ in sink.batches] == [300, 25, 25]
    # The hour and start of the poll's window, as GH Archive names hours.
    assert sink.batches[0][1] == Provenance("live", "2026-01-01-0", "2026-01-01T00:00:00+00:00")
    for (_batch, provenance), result in zip(sink.batches, polls, strict=True):
        assert provenance == Provenance("live", result.hour, result.window_start.isoformat())
    gaps = [(b.window_start - a.window_start).total_seconds() for a, b in itertools.pairwise(polls)]
    assert gaps == [90.0, 90.0]
    ids = [orjson.loads(line)["id"] for batch, _ in sink.batches for line in batch]
    assert len(ids) == len(set(ids)) == 350


def test_run_survives_an_api_failure_and_polls_again_after_the_interval(
    api: FakeGitHubApi, http: httpx.Client, clock: FakeClock, ledger: Ledger
) -> None:
    api.fail_next(502, times=2)
    errors: list[GhLakeError] = []
    sink = RecordingSink()
    summary = LiveIngest(_poller(api, http, clock, max_attempts=2), sink, ledger).run(
        threading.Event(), max_polls=2, on_error=errors.append
    )
    assert (summary.polls, summary.failed_polls, summary.published) == (1, 1, 300)
    assert len(errors) == 1
    assert "502" in str(errors[0])
    assert clock.sleeps == [1.0, 59.0], "one backoff, then the rest of the poll interval"


def test_events_whose_publishing_failed_are_offered_again(
    api: FakeGitHubApi, http: httpx.Client, clock: FakeClock, ledger: Ledger
) -> None:
    sink = RecordingSink(failures=1)
    summary = LiveIngest(_poller(api, http, clock), sink, ledger).run(
        threading.Event(), max_polls=2
    )

    assert (summary.polls, summary.failed_polls) == (1, 1)
    assert [len(batch) for batch, _ in sink.batches] == [300]
    again = api.requests[3:]
    assert [r.status for r in again] == [200, 200, 200], "pages read in full, not 304"
    assert all("if-none-match" not in r.headers for r in again)


def test_a_terminal_error_ends_the_run(
    api: FakeGitHubApi, http: httpx.Client, clock: FakeClock, ledger: Ledger
) -> None:
    config = LiveConfig(base_url=f"{api.base_url}/nowhere")
    poller = LivePoller(EventsApiClient(config, http, clock=clock.now, sleep=clock.sleep))
    with pytest.raises(LiveFeedError, match="404"):
        LiveIngest(poller, RecordingSink(), ledger).run(threading.Event())


def test_stop_ends_the_wait_for_the_next_poll_at_once(
    events: list[bytes], http: httpx.Client, ledger: Ledger
) -> None:
    # Real time: the default sleep waits on the stop event.
    stop = threading.Event()

    def on_poll(_result: PollResult, _published: PublishResult | None) -> None:
        threading.Timer(0.2, stop.set).start()

    with FakeGitHubApi(events) as fake:
        poller = LivePoller(EventsApiClient(LiveConfig(base_url=fake.base_url), http))
        started = time.monotonic()
        summary = LiveIngest(poller, RecordingSink(), ledger).run(stop, on_poll)
        elapsed = time.monotonic() - started

    assert summary.polls == 1
    assert elapsed < 10, f"stopping took {elapsed:.1f}s although the next poll was 60 s away"


def test_every_poll_window_is_recorded_in_the_ledger(
    api: FakeGitHubApi, http: httpx.Client, clock: FakeClock, ledger: Ledger
) -> None:
    """Whoever runs the poller (CLI, API, Airflow), the ledger holds each window."""
    sink = RecordingSink(failures=1)
    summary = LiveIngest(_poller(api, http, clock), sink, ledger).run(
        threading.Event(), max_polls=3, on_poll=lambda *_: api.advance(25)
    )
    polls = ledger.polls()
    assert len(polls) == summary.polls == 2, "a failed poll is not a window"
    assert [p.published for p in reversed(polls)] == [len(batch) for batch, _ in sink.batches]
    assert sum(p.new for p in polls) == summary.new


def test_the_poll_command_has_help() -> None:
    app = typer.Typer()
    app.command("poll")(poll)
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["poll", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--base-url", "--token", "--once", "--max-polls"):
        assert option in result.output
