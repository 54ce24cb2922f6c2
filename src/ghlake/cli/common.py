"""What every CLI module shares: the consoles, settings and the platform, progress bars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.settings import load_settings as _load

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import FastAPI

    from ghlake.services.supervisor import ServiceStatus

__all__ = [
    "console",
    "err_console",
    "load_platform",
    "load_settings",
    "new_progress",
    "serve",
    "start_group",
    "status_table",
    "stop_group",
]

console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    """Settings from the environment (built once per command, at the edge)."""
    return _load()


def load_platform() -> Platform:
    """The platform for the environment's settings."""
    return Platform(load_settings())


def status_table(statuses: list[ServiceStatus]) -> Table:
    """The services as ``ghlake status`` shows them: state, pid, address, log."""
    table = Table(title="ghlake services")
    for column in ("service", "state", "pid", "address", "log"):
        table.add_column(column)
    colors = {"healthy": "green", "unhealthy": "yellow", "stopped": "red"}
    for s in statuses:
        state = f"[{colors[s.state]}]{s.state}[/]" + (
            " (started)" if s.changed and s.running else ""
        )
        table.add_row(s.name, state, str(s.pid or "-"), s.address, str(s.log))
    return table


def start_group(group: str, doing: str) -> Platform:
    """Start an optional group of the stack (``airflow``, ``spark``) and show its services."""
    platform = load_platform()
    with console.status(doing) as status:
        statuses = platform.stack.group_up(group, on_step=status.update)
    console.print(status_table(statuses))
    return platform


def stop_group(group: str, doing: str) -> None:
    """Stop an optional group of the stack and show its services."""
    with console.status(doing) as status:
        statuses = load_platform().stack.group_down(group, on_step=status.update)
    console.print(status_table(statuses))


def new_progress(unit: str | None = None) -> Progress:
    """A progress bar with a count of items, then of lines (``lines`` field) or ``unit``."""
    counted = TextColumn(unit) if unit else TextColumn("{task.fields[lines]:,} lines")
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        MofNCompleteColumn(), counted, TimeElapsedColumn(), console=console,
    )  # fmt: skip


def serve(app: FastAPI | Any, host: str, port: int, extra_ports: Sequence[int] = ()) -> None:
    """Run an ASGI app in the foreground, one process, logging JSON lines.

    ``extra_ports``: more listening sockets of the same server (the warehouse service
    answers ClickHouse clients on a second port).
    """
    import socket  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from ghlake.logs import configure_logging, logging_dict_config  # noqa: PLC0415

    configure_logging("INFO")
    # One worker: the warehouse's chDB engine allows one process per data path, and the
    # API's replay jobs run in its own process.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", log_config=logging_dict_config("INFO")
    )
    if not extra_ports:
        uvicorn.Server(config).run()
        return
    sockets = []
    for each in (port, *extra_ports):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, each))
        sock.set_inheritable(True)
        sockets.append(sock)
    uvicorn.Server(config).run(sockets=sockets)
