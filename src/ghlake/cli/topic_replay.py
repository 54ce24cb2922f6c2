"""``ghlake replay-topic``: rebuild the lake, the warehouse, or both, from a range of the topic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from ghlake.cli.common import console, err_console, load_platform, new_progress
from ghlake.errors import InvalidInputError
from ghlake.ingest.topic_replay import (
    Store,
    TopicReplayReport,
    TopicReplayRequest,
    run_recorded,
)
from ghlake.ledger import JobStatus
from ghlake.ledger.topic_replays import TopicReplayRecord

__all__ = ["replay_topic"]


def _time(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"{option} {value!r} is not an ISO-8601 time") from exc


def _summary(record: TopicReplayRecord) -> Table:
    color = "green" if record.status is JobStatus.DONE else "red"
    table = Table(title=f"topic replay {record.id}: [{color}]{record.status}[/]")
    table.add_column("", no_wrap=True)
    table.add_column("", justify="right")
    rows = [
        ("store", record.store),
        ("range (UTC)", f"{record.from_time:%Y-%m-%d %H:%M:%S} .. {record.to_time:%H:%M:%S}"),
        ("messages in the range", f"{record.messages:,}"),
        ("events read", f"{record.events:,}"),
    ]
    if record.store in ("lake", "both"):
        rows += [("lake: events added", f"{record.lake_added:,}"),
                 ("lake: held already", f"{record.lake_present:,}")]  # fmt: skip
    if record.store in ("warehouse", "both"):
        rows += [("warehouse: rows replaced", f"{record.warehouse_deleted:,}"),
                 ("warehouse: rows written", f"{record.warehouse_inserted:,}"),
                 ("warehouse: days re-aggregated", ", ".join(record.days) or "-")]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    table.caption = record.error
    return table


def replay_topic(
    store: Annotated[Store, typer.Option(help="What to rebuild: lake, warehouse or both.")],
    from_time: Annotated[
        str, typer.Option(help="Start of the range (ISO-8601; no zone: UTC), inclusive.")
    ],
    to_time: Annotated[str, typer.Option(help="End of the range, exclusive.")],
) -> None:
    """Rebuild the lake or the warehouse from the topic's messages of a time range.

    Nothing ends up twice: the lake appends only the events it lacks; the warehouse's
    rows of the range are replaced and its aggregates rebuilt for the days touched.
    The range must still be on the topic (retention: GHLAKE_KAFKA__RETENTION_MS).
    """
    platform = load_platform()
    request = TopicReplayRequest(
        store, _time(from_time, "--from-time"), _time(to_time, "--to-time")
    )
    replayer = platform.topic_replayer()
    span = replayer.plan(request)
    stores = 2 if store == "both" else 1
    record = platform.topic_replays.create(request.store, request.from_time, request.to_time)
    with new_progress("events") as progress:
        task = progress.add_task(f"replaying {store}", total=span.messages * stores)

        def on_progress(report: TopicReplayReport) -> None:
            progress.update(task, completed=report.events, total=report.messages * stores)

        final = run_recorded(platform.topic_replays, replayer, record, on_progress)
    console.print(_summary(final))
    if final.status is not JobStatus.DONE:
        err_console.print(f"[red]topic replay failed:[/] {final.error}")
        raise typer.Exit(1)
