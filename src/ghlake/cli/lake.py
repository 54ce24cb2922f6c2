"""``ghlake lake ...`` and ``ghlake worker``: the lake's Delta table and its writer."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

import typer
from rich.table import Table

from ghlake.cli.common import console, err_console, load_platform
from ghlake.hours import Hour
from ghlake.lake import maintenance
from ghlake.lake.convert import convert_parquet_layout
from ghlake.lake.listing import list_partitions
from ghlake.lake.verify import verify_hour
from ghlake.logs import logging_dict_config
from ghlake.orchestration.maintenance import maintain as maintain_lake
from ghlake.sources.archive import open_archive

__all__ = ["lake_app", "worker"]

lake_app = typer.Typer(help="The lake: a Delta table in MinIO.", no_args_is_help=True)

Version = Annotated[int | None, typer.Option(help="Read this table version (time travel).")]


@lake_app.command("ls")
def ls(version: Version = None) -> None:
    """List the table's partitions (event dates) with files, events and size."""
    platform = load_platform()
    lake_table = platform.lake_table
    partitions = list_partitions(lake_table, version)
    table = Table(title=f"{lake_table.uri} (version {version or lake_table.version()})")
    for column in ("event_date", "files", "events", "MB"):
        table.add_column(column, justify="right")
    for p in partitions:
        table.add_row(p.event_date, f"{p.files:,}", f"{p.rows:,}", f"{p.bytes / 1e6:,.2f}")
    console.print(table)


@lake_app.command("compact")
def compact(
    from_: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First event date.")
    ] = None,
    to: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last event date.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be done.")] = False,
) -> None:
    """Compact the closed partitions (event dates before today, UTC) into large files."""
    platform = load_platform()
    first: date | None = from_.date() if from_ else None
    last: date | None = to.date() if to else None
    with console.status("compacting"):
        result = maintenance.compact(
            platform.lake_table,
            platform.settings.lake.compact_target_mb,
            first,
            last,
            dry_run=dry_run,
        )
    verb = "would rewrite" if result.dry_run else "rewrote"
    console.print(
        f"{len(result.partitions)} closed partitions: {verb} {result.files_removed:,} files "
        f"({result.bytes_read / 1e6:,.1f} MB) into {result.files_added:,}"
    )


@lake_app.command("vacuum")
def vacuum(
    retain: Annotated[
        int | None, typer.Option(help="Keep files removed within this many hours (default 168).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, do not delete.")] = False,
) -> None:
    """Delete files no recent version references (replaced by compaction, or orphans)."""
    platform = load_platform()
    hours = platform.settings.lake.vacuum_retain_hours if retain is None else retain
    deleted = maintenance.vacuum(platform.lake_table, hours, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {len(deleted):,} files older than {hours} h")


@lake_app.command("convert")
def convert(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read, write nothing.")] = False,
) -> None:
    """Convert a lake of the old layout (Parquet under GHLAKE_LAKE__PREFIX) into the table, once."""
    platform = load_platform()
    settings = platform.settings
    with console.status(f"converting {settings.lake.prefix}/ into {platform.lake_table.uri}"):
        result = convert_parquet_layout(
            platform.store, platform.lake_table, settings.kafka.topic, settings.lake.prefix,
            dry_run=dry_run,
        )  # fmt: skip
    console.print(
        f"{result.files_read:,} files, {result.rows_read:,} rows read; "
        f"{result.rows_written:,} {'would be ' if dry_run else ''}written, "
        f"{result.duplicates:,} duplicates and {result.rows_uncommitted:,} rows of incomplete "
        f"batches left out; offsets {result.offsets}"
        + (f"; table version {result.version}" if result.version is not None else "")
    )


@lake_app.command("history")
def history(
    limit: Annotated[int, typer.Option(help="How many commits, newest first.")] = 20,
) -> None:
    """The table's commits: version, time, operation, offsets and events per source hour."""
    platform = load_platform()
    table = Table(title=f"{platform.lake_table.uri}: history")
    for column in ("version", "time (UTC)", "operation", "offsets", "events by source hour"):
        table.add_column(column)
    for commit in maintenance.history(platform.lake_table, limit):
        table.add_row(
            str(commit.version),
            f"{commit.timestamp:%Y-%m-%d %H:%M:%S}" if commit.timestamp else "",
            commit.operation,
            ", ".join(f"p{p}:{v}" for p, v in commit.offsets.items()),
            ", ".join(f"{h}:{n:,}" for h, n in commit.source_hours.items()),
        )
    console.print(table)


@lake_app.command("verify")
def verify(
    hour: Annotated[str, typer.Option(help="The GH Archive hour, e.g. 2015-01-01-1.")],
    source: Annotated[str, typer.Option(help="Folder of hour files or a GH Archive mirror URL.")],
    version: Version = None,
) -> None:
    """Compare an hour in the lake with its source file by (id, created_at)."""
    platform = load_platform()
    with console.status(f"reading {hour} from {source} and from the lake"):
        result = verify_hour(
            platform.lake_table, platform.store, open_archive(source), Hour.parse(hour),
            version=version,
        )  # fmt: skip
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


@lake_app.command("maintain")
def maintain(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON line.")
    ] = False,
) -> None:
    """Compact the closed partitions, vacuum, and OPTIMIZE the warehouse's months compacted.

    What Airflow's ``lake_compaction`` DAG runs, daily and after backfills.
    """
    platform = load_platform()
    lake = platform.settings.lake
    report = maintain_lake(
        platform.lake_table, platform.warehouse, lake.compact_target_mb, lake.vacuum_retain_hours
    )
    if as_json:
        print(json.dumps(asdict(report)))
        return
    console.print(
        f"{len(report.partitions)} partitions compacted: files {report.files_before:,} -> "
        f"{report.files_after:,}, rows {report.rows_before:,} -> {report.rows_after:,}; "
        f"{report.vacuumed:,} files vacuumed; {len(report.optimized)} warehouse merges"
    )
