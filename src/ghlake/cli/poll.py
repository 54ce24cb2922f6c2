"""``ghlake poll``: the live source, GitHub's public Events API (every page) into the topic.

The poller runs in a worker thread so that Ctrl-C only sets its stop event:
the poll in flight finishes (its events are published or offered again), the
wait for the next poll ends at once, and the summary is printed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ghlake.cli.common import console, load_platform
from ghlake.errors import GhLakeError
from ghlake.ingest.live import LiveRunSummary
from ghlake.kafka.producer import PublishResult
from ghlake.sources.live import LivePoller, PollResult

__all__ = ["poll"]

_RECENT_POLLS = 15
_COLUMNS = ("started (UTC)", "pages 200/304", "received", "new", "duplicates", "published",
            "rate limit left", "interval s", "note")  # fmt: skip


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


class _PollView:
    """The live display: the latest polls and when the next one is due (re-rendered each tick)."""

    def __init__(self, poller: LivePoller) -> None:
        self.poller = poller
        self.base_url = poller.config.base_url
        self.rows: deque[tuple[str, ...]] = deque(maxlen=_RECENT_POLLS)
        self.totals = {"polls": 0, "new": 0, "published": 0}
        self.last_error = ""

    def on_poll(self, result: PollResult, published: PublishResult | None) -> None:
        """Add one poll window's row (the ledger has recorded it already)."""
        self.totals["polls"] += 1
        self.totals["new"] += result.new
        self.totals["published"] += published.published if published else 0
        note = "[yellow]gap: poll more often or add tokens[/]" if result.gap else ""
        self.rows.append((
            f"{result.window_start:%H:%M:%S}",
            f"{result.pages_fetched - result.pages_not_modified}/{result.pages_not_modified}",
            f"{result.received:,}", f"{result.new:,}", f"{result.duplicates:,}",
            f"{published.published:,}" if published else "0",
            _number(result.rate_limit_remaining), _number(result.poll_interval_s), note,
        ))  # fmt: skip

    def on_error(self, error: GhLakeError) -> None:
        """Show the latest survived failure."""
        self.last_error = f"{datetime.now(UTC):%H:%M:%S} {error}"

    def __rich__(self) -> RenderableType:
        table = Table(title=f"live polls of {self.base_url}/events", title_justify="left")
        for column in _COLUMNS:
            table.add_column(
                column, justify="left" if column in ("started (UTC)", "note") else "right"
            )
        for row in self.rows:
            table.add_row(*row)
        status = Text(
            f"{self.totals['polls']:,} polls, {self.totals['new']:,} new events,"
            f" {self.totals['published']:,} published"
        )
        due = self.poller.next_poll_at
        if due is not None:
            seconds = max((due - datetime.now(UTC)).total_seconds(), 0.0)
            status.append(f"; next poll in {seconds:,.0f} s (Ctrl-C stops)", style="dim")
        parts: list[RenderableType] = [table, status]
        if self.last_error:
            parts.append(Text(f"last failure (survived): {self.last_error}", style="yellow"))
        return Group(*parts)


def _summary_table(summary: LiveRunSummary, seconds: float) -> Table:
    table = Table(title="live polling summary", title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    rows = [
        ("polls", summary.polls), ("failed polls (survived)", summary.failed_polls),
        ("pages read (200)", summary.pages_fetched - summary.pages_not_modified),
        ("pages unchanged (304)", summary.pages_not_modified),
        ("events received", summary.received), ("new events", summary.new),
        ("duplicates dropped", summary.duplicates), ("published to Kafka", summary.published),
        ("dead-lettered", summary.dead_lettered), ("polls with a gap", summary.gaps),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    table.add_row("seconds", f"{seconds:,.1f}")
    return table


def poll(
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Events API base URL (default https://api.github.com, or a compatible one)."
        ),
    ] = None,
    token: Annotated[
        list[str] | None,
        typer.Option(
            "--token",
            help="A GitHub token (5,000 requests/hour, not 60); repeat to rotate over several.",
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Poll once, publish, and exit.")] = False,
    max_polls: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many polls (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Poll GitHub's public Events API (all three pages) and publish new events to Kafka."""
    platform = load_platform()
    stop = threading.Event()
    started = time.monotonic()
    with (
        platform.live_ingest(base_url, token) as ingest,
        ThreadPoolExecutor(1, "ghlake-poll") as pool,
    ):
        view = _PollView(ingest.poller)
        with Live(view, console=console, refresh_per_second=2):
            future = pool.submit(
                ingest.run, stop, view.on_poll,
                max_polls=1 if once else max_polls, on_error=view.on_error,
            )  # fmt: skip
            try:
                summary = future.result()
            except KeyboardInterrupt:
                stop.set()  # the poll in flight finishes; a wait ends at once
                summary = future.result()
    platform.close()
    console.print(_summary_table(summary, time.monotonic() - started))
    if summary.failed_polls and not summary.polls:
        raise typer.Exit(1)
