"""``ghlake lake ...`` and ``ghlake worker``: the Parquet lake and its writer."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ghlake.cli.common import console, err_console, load_platform
from ghlake.hours import Hour
from ghlake.lake.listing import list_partitions
from ghlake.lake.verify import verify_hour
from ghlake.logs import logging_dict_config
from ghlake.sources.archive import open_archive

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


@lake_app.command("verify")
def verify(
    hour: Annotated[str, typer.Option(help="The GH Archive hour, e.g. 2015-01-01-1.")],
    source: Annotated[str, typer.Option(help="Folder of hour files or a GH Archive mirror URL.")],
) -> None:
    """Compare an hour in the lake with its source file by (id, created_at)."""
    platform = load_platform()
    with console.status(f"reading {hour} from {source} and from the lake"):
        result = verify_hour(
            platform.store, platform.settings.lake.prefix, open_archive(source), Hour.parse(hour)
        )
    table = Table(title=f"hour {result.hour}: lake vs source")
    for column in ("source lines", "source events", "lake rows", "missing", "duplicates",
                   "unexpected", "partitions read"):  # fmt: skip
        table.add_column(column, justify="right")
    table.add_row(
        f"{result.source_lines:,}", f"{result.source_events:,}", f"{result.lake_rows:,}",
        f"{result.missing:,}", f"{result.duplicates:,}", f"{result.unexpected:,}",
        ", ".join(result.partitions),
    )  # fmt: skip
    console.print(table)
    for label, identities in (("missing", result.missing_sample),
                              ("duplicated", result.duplicate_sample)):  # fmt: skip
        if identities:
            console.print(f"{label} (id or content hash @ created_at): "
                          + ", ".join(str(i) for i in identities))  # fmt: skip
    if not result.ok:
        err_console.print(f"[red]the lake does not hold hour {result.hour} exactly once[/]")
        raise typer.Exit(1)
    console.print(f"[green]every event of {result.hour} is in the lake exactly once[/]")


def worker() -> None:
    """Run a lake writer worker (faust-streaming) in the foreground."""
    import faust  # noqa: PLC0415

    from ghlake.streams.lake_app import create_lake_app  # noqa: PLC0415

    lake_app_ = create_lake_app(load_platform())
    faust.Worker(
        lake_app_, loglevel="INFO", logging_config=logging_dict_config("INFO")
    ).execute_from_commandline()
