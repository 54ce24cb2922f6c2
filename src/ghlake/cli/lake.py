"""``ghlake lake ...`` and ``ghlake worker``: the Parquet lake and its writer."""

from __future__ import annotations

import typer
from rich.table import Table

from ghlake.cli.common import console, load_platform, load_settings
from ghlake.lake.listing import list_partitions
from ghlake.logs import logging_dict_config

__all__ = ["lake_app", "worker"]

lake_app = typer.Typer(help="The Parquet lake in MinIO.", no_args_is_help=True)


@lake_app.command("ls")
def ls() -> None:
    """List the lake's partitions (event date and hour) with files and size."""
    platform = load_platform()
    partitions = list_partitions(platform.store, platform.settings.lake.prefix)
    table = Table(title=f"s3://{platform.settings.minio.bucket}/{platform.settings.lake.prefix}")
    for column in ("event_date", "event_hour", "files", "MB"):
        table.add_column(column, justify="right")
    for p in partitions:
        table.add_row(p.event_date, p.event_hour, f"{p.files:,}", f"{p.bytes / 1e6:,.2f}")
    console.print(table)


def worker() -> None:
    """Run a lake writer worker (faust-streaming) in the foreground."""
    import faust  # noqa: PLC0415

    from ghlake.streams.lake_app import create_lake_app  # noqa: PLC0415

    lake_app_ = create_lake_app(load_settings())
    faust.Worker(
        lake_app_, loglevel="INFO", logging_config=logging_dict_config("INFO")
    ).execute_from_commandline()
