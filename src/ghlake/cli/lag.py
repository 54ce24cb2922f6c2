"""``ghlake lag``: every consumer group's lag and status, from the API's lag monitor."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table

from ghlake.cli.common import console, load_platform

__all__ = ["lag"]

_COLORS = {"OK": "green", "WARN": "yellow"}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}s"


def lag_tables(report: dict[str, Any]) -> Group:
    """The groups (one row per group and topic) and, below, each group's partitions."""
    groups = Table(title="consumer groups")
    for column in ("group", "topic", "status", "lag", "lag (s)", "members", "state"):
        groups.add_column(column, justify="right" if column in ("lag", "lag (s)") else "left")
    partitions = Table(title="partitions")
    columns = ("group", "partition", "committed", "end", "lag", "lag (s)", "catch-up", "status")
    for column in columns:
        partitions.add_column(column)
    for g in report["groups"]:
        color = _COLORS.get(g["status"], "red")
        flag = "" if g["active"] else " (inactive)"
        groups.add_row(
            g["group"], g["topic"], f"[{color}]{g['status']}[/]", f"{g['lag']:,}",
            _seconds(g["lag_seconds"]), str(g["members"]), g["state"] + flag,
        )  # fmt: skip
        for p in g["partitions"]:
            committed = "no commit" if p["committed"] is None else f"{p['committed']:,}"
            partitions.add_row(
                g["group"], str(p["partition"]), committed, f"{p['end']:,}", f"{p['lag']:,}",
                _seconds(p["lag_seconds"]), _seconds(p["catch_up_seconds"]),
                f"[{_COLORS.get(p['status'], 'red')}]{p['status']}[/]",
            )  # fmt: skip
    parts: list[Any] = [groups, partitions]
    if report.get("error"):
        parts.append(f"[red]last sample failed: {report['error']}[/]")
    return Group(*parts)


def lag(
    group: Annotated[str | None, typer.Argument(help="One group; default: every group.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh in place until Ctrl-C.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Consumer lag and status (Burrow's rules) of every group, from the API's monitor."""
    platform = load_platform()
    client = platform.lag_client()
    if as_json:
        typer.echo(orjson.dumps(client.report(group), option=orjson.OPT_INDENT_2).decode())
        return
    if not watch:
        console.print(lag_tables(client.report(group)))
        return
    interval = platform.settings.lag.interval_seconds
    with Live(lag_tables(client.report(group)), console=console, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(lag_tables(client.report(group)), refresh=True)
        except KeyboardInterrupt:
            pass
