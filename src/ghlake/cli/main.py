"""The ``ghlake`` command: one CLI for every service.

Each command parses its arguments, makes one call into the core
(:class:`ghlake.platform.Platform` mostly) and renders the result. Known
errors print as one red line and exit 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ghlake.cli.airflow import airflow_app, backfill
from ghlake.cli.api import api_app
from ghlake.cli.common import console, err_console, load_platform, new_progress, status_table
from ghlake.cli.deploy import deploy_app
from ghlake.cli.lag import lag
from ghlake.cli.lake import lake_app, worker
from ghlake.cli.metabase import metabase_app
from ghlake.cli.poll import poll
from ghlake.cli.spark import spark_app
from ghlake.cli.topic_replay import replay_topic
from ghlake.cli.warehouse import warehouse_app
from ghlake.errors import GhLakeError
from ghlake.hours import Hour, hour_range
from ghlake.ingest.reconcile import HourCounts
from ghlake.ingest.replay import HourReport
from ghlake.ledger import HourStatus
from ghlake.logs import configure_logging
from ghlake.platform import Platform

__all__ = ["app", "run"]

app = typer.Typer(
    name="ghlake",
    help="ghlake: GitHub events through Kafka into a Delta Lake table and a ClickHouse warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(deploy_app, name="deploy")
app.add_typer(lake_app, name="lake")
app.add_typer(api_app, name="api")
app.add_typer(metabase_app, name="metabase")
app.add_typer(spark_app, name="spark")
app.command("worker")(worker)
app.command("poll")(poll)
app.command("replay-topic")(replay_topic)
app.command("lag")(lag)
app.add_typer(airflow_app, name="airflow")
app.command("backfill")(backfill)

_debug = {"on": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    _debug["on"] = debug
    configure_logging(logging.DEBUG if debug else logging.WARNING)


@app.command()
def install() -> None:
    """Fetch the Kafka jars and build the MinIO server into the cache (once per pin)."""
    platform = load_platform()
    with console.status("installing") as status:
        platform.stack.install(
            on_step=lambda step: status.update(f"{step} (first time: a few minutes)")
        )
    console.print(f"[green]installed[/] into {platform.settings.cache_dir}")


@app.command()
def up(
    with_: Annotated[
        list[str] | None,
        typer.Option("--with", help="Also start an optional part: airflow."),
    ] = None,
    kafka_brokers: Annotated[
        int | None, typer.Option(help="Kafka nodes (GHLAKE_KAFKA__BROKERS); 3: a cluster.")
    ] = None,
    minio_drives: Annotated[
        int | None, typer.Option(help="MinIO drives (GHLAKE_MINIO__DRIVES); 4: erasure-coded.")
    ] = None,
    lake_writers: Annotated[
        int | None, typer.Option(help="Lake writer processes (GHLAKE_LAKE__WRITERS).")
    ] = None,
    warehouse_consumers: Annotated[
        int | None,
        typer.Option(help="Kafka engine consumers (GHLAKE_WAREHOUSE__CONSUMERS)."),
    ] = None,
) -> None:
    """Install what is missing and start the stack (Kafka, MinIO, warehouse, lake writers).

    The sizing options are the settings named in their help, for this command and the
    services it starts; export the same variables for later commands (status, down ...).
    """
    sizes = {
        "GHLAKE_KAFKA__BROKERS": kafka_brokers,
        "GHLAKE_MINIO__DRIVES": minio_drives,
        "GHLAKE_LAKE__WRITERS": lake_writers,
        "GHLAKE_WAREHOUSE__CONSUMERS": warehouse_consumers,
    }
    given = {name: str(value) for name, value in sizes.items() if value is not None}
    os.environ.update(given)  # the services started below inherit them
    with console.status("starting ghlake") as status:
        statuses = load_platform().stack.up(on_step=status.update, with_groups=with_ or ())
    console.print(status_table(statuses))
    if given:
        exports = " ".join(f"{name}={value}" for name, value in given.items())
        console.print(f"for later commands (status, down, replay ...): export {exports}")


@app.command()
def down() -> None:
    """Stop every service of the stack."""
    with console.status("stopping ghlake") as status:
        statuses = load_platform().stack.down(on_step=status.update)
    console.print(status_table(statuses))


@app.command()
def status() -> None:
    """Show each service, its address and its health."""
    statuses = load_platform().stack.status()
    console.print(status_table(statuses))
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


def _replay_table(reports: list[HourReport]) -> Table:
    table = Table(title="replay")
    table.add_column("hour", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("lines", "published", "dead-lettered", "MB", "ev/s"):
        table.add_column(column, justify="right", no_wrap=True)
    colors = {HourStatus.PUBLISHED: "green", HourStatus.SKIPPED: "cyan",
              HourStatus.PARTIAL: "yellow", HourStatus.MISSING: "yellow"}  # fmt: skip
    notes = []
    for r in reports:
        rate = f"{r.published / r.seconds:,.0f}" if r.seconds else "-"
        status = f"[{colors.get(r.status, 'red')}]{r.status}[/]"
        table.add_row(r.hour.name, status, f"{r.lines:,}", f"{r.published:,}",
                      f"{r.dead_lettered:,}", f"{r.bytes / 1e6:,.1f}", rate)  # fmt: skip
        if r.recovered or r.duplicates:
            notes.append(f"{r.hour}: {r.recovered:,} recovered, {r.duplicates:,} duplicates")
        if r.error:
            notes.append(f"{r.hour}: {r.error}")
    table.caption = "\n".join(notes) or None
    return table


def _replay(
    platform: Platform,
    location: str | None,
    hours: list[Hour],
    *,
    force: bool = False,
    speed: float | None = None,
) -> list[HourReport]:
    with new_progress() as progress:
        task = progress.add_task("replaying", total=len(hours), lines=0)
        done = {"lines": 0, "hours": -1, "hour_lines": 0}

        def on_hour(hour: Hour) -> None:
            done["hours"] += 1
            done["lines"] += done["hour_lines"]  # the previous hour's, now complete
            done["hour_lines"] = 0
            progress.update(task, completed=done["hours"], description=f"hour {hour}")

        def on_lines(lines: int, _bytes: int) -> None:
            done["hour_lines"] = lines
            progress.update(task, lines=done["lines"] + lines)

        with platform.replayer(location) as replayer:
            reports = replayer.run(
                hours, force=force, speed=speed, on_hour=on_hour, progress=on_lines
            )
        progress.update(task, completed=len(hours), lines=sum(r.lines for r in reports))
    return reports


@app.command()
def replay(
    from_: Annotated[str, typer.Option("--from", help="First hour (UTC), e.g. 2015-01-01-0.")],
    to: Annotated[str | None, typer.Option(help="Last hour (default: the first).")] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Folder of hour files or a mirror URL (default: GHLAKE_REPLAY__MIRROR)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Publish hours the ledger says are published.")
    ] = False,
    speed: Annotated[
        float | None, typer.Option(min=0.001, help="Pace events at N times real time.")
    ] = None,
) -> None:
    """Publish GH Archive hours, unchanged, to the events topic (skips published hours)."""
    first = Hour.parse(from_)
    last = Hour.parse(to) if to else first
    hours = list(hour_range(first, last))
    reports = _replay(load_platform(), source, hours, force=force, speed=speed)
    console.print(_replay_table(reports))
    if not all(r.status.ok for r in reports):
        raise typer.Exit(1)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the hour files to.")],
    from_: Annotated[str, typer.Option("--from", help="First hour, e.g. 2026-01-15-0.")],
    to: Annotated[str | None, typer.Option(help="Last hour (default: the first).")] = None,
    events_per_hour: Annotated[int, typer.Option(min=1)] = 20_000,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Write realistic GH Archive hour files for offline runs and volume."""
    from ghlake.synth import SynthConfig, write_hour  # noqa: PLC0415 - a fifth of the package

    first = Hour.parse(from_)
    hours = list(hour_range(first, Hour.parse(to) if to else first))
    config = SynthConfig(events_per_hour=events_per_hour, seed=seed)
    table = Table(title=f"generated in {out}")
    for column in ("hour", "events", "MB (gzip)"):
        table.add_column(column)
    with new_progress() as progress:
        task = progress.add_task("generating", total=len(hours), lines=0)
        for hour in hours:
            result = write_hour(hour, out, config)
            progress.update(
                task, advance=1, lines=progress.tasks[0].fields["lines"] + result.events
            )
            table.add_row(hour.name, f"{result.events:,}", f"{result.bytes_written / 1e6:.1f}")
    console.print(table)


def _counts_table(counts: list[HourCounts]) -> Table:
    table = Table(title="events per stage")
    table.add_column("hour", no_wrap=True)
    for column in ("published to Kafka", "in the lake (Delta)", "in the warehouse", "reconciled"):
        table.add_column(column, justify="right")
    for c in counts:
        mark = "[green]yes[/]" if c.reconciled else "[red]no[/]"
        table.add_row(c.hour.name, f"{c.published:,}", f"{c.lake:,}", f"{c.warehouse:,}", mark)
    totals = (sum(c.published for c in counts), sum(c.lake for c in counts),
              sum(c.warehouse for c in counts))  # fmt: skip
    table.add_row("total", *(f"{n:,}" for n in totals), "")
    return table


@app.command()
def reconcile(
    from_: Annotated[str, typer.Option("--from", help="First hour, e.g. 2015-01-01-0.")],
    to: Annotated[str | None, typer.Option(help="Last hour (default: the first).")] = None,
) -> None:
    """Compare per-hour counts of the ledger, the lake and the warehouse; name hours that differ."""
    first = Hour.parse(from_)
    platform = load_platform()
    try:
        counts = platform.reconciler.reconcile(first, Hour.parse(to) if to else first)
    finally:
        platform.close()  # the warehouse client's connections, the ledger
    console.print(_counts_table(counts))
    differing = [c.hour.name for c in counts if not c.reconciled]
    if differing:
        err_console.print(f"[red]{len(differing)} hours differ:[/] {', '.join(differing)}")
        raise typer.Exit(1)


@app.command()
def demo(
    source: Annotated[
        str | None,
        typer.Option(help="Folder or mirror URL (default: probe GH Archive, else generate)."),
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First hour with --source.")] = None,
    to: Annotated[str | None, typer.Option(help="Last hour with --source.")] = None,
    offline: Annotated[bool, typer.Option(help="Do not try the network; generate hours.")] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the lake and warehouse.")
    ] = 300,
) -> None:
    """The main job: start the stack, stream hours end to end, print reconciled counts."""
    from ghlake.ingest.demo import plan_source  # noqa: PLC0415

    platform = load_platform()
    with console.status("starting ghlake") as status:
        platform.stack.up(on_step=status.update)
    console.print(status_table(platform.stack.status()))
    if source is not None:
        if from_ is None:
            raise typer.BadParameter("--from is required with --source")
        first = Hour.parse(from_)
        location, hours = source, list(hour_range(first, Hour.parse(to) if to else first))
        origin = "given"
    else:
        with console.status("probing GH Archive (falls back to generated hours offline)"):
            plan = plan_source(
                platform.settings.state_dir, platform.settings.replay.mirror, offline=offline
            )
        location, hours, origin = plan.location, list(plan.hours), plan.origin
    console.print(f"hours {hours[0]}..{hours[-1]} from {location} ({origin})")
    reports = _replay(platform, location, hours)
    console.print(_replay_table(reports))
    published = {r.hour: r.published for r in reports if r.published}
    with console.status("waiting for the lake and the warehouse") as status:
        counts = platform.reconciler.wait(
            published, timeout=timeout,
            on_poll=lambda c: status.update(
                f"lake {sum(x.lake for x in c):,} / warehouse {sum(x.warehouse for x in c):,}"
                f" of {sum(published.values()):,}"),
        )  # fmt: skip
    console.print(_counts_table(counts))
    if not all(c.reconciled for c in counts):
        err_console.print("[red]the stages do not hold the same events; see the table above[/]")
        raise typer.Exit(1)
    console.print("[green]every published event reached the lake and the warehouse[/]")
    console.print(_how_to_connect(platform))


def _how_to_connect(platform: Platform) -> str:
    """Where to point ClickHouse clients, the API and dashboards at the running stack."""
    warehouse = platform.settings.warehouse
    return (
        f"ClickHouse clients: {warehouse.http_url} (user default, no password in dev; "
        f"or {warehouse.analyst_user})\n"
        f"  curl '{warehouse.http_url}/?query=SELECT+event_type,count()+FROM+github_events"
        f"+GROUP+BY+event_type'\n"
        f"  python: clickhouse_connect.get_client(host='{warehouse.host}', "
        f"port={warehouse.http_port})\n"
        f"  JDBC / Metabase: jdbc:clickhouse://{warehouse.host}:{warehouse.http_port}/"
        f"{warehouse.database}\n"
        f"  Grafana: ClickHouse data source, protocol HTTP, port {warehouse.http_port}\n"
        f"API: {platform.settings.api.url}/docs\n"
        f"Live page: {platform.settings.api.url}/ (consumer lag: ghlake lag)"
        + (
            f"\nPrometheus: {platform.settings.prometheus.url}"
            if platform.settings.prometheus.enabled
            else ""
        )
    )


def run() -> None:
    """Entry point: run the CLI, printing known errors as one red line."""
    try:
        app()
    except GhLakeError as exc:
        if _debug["on"]:
            raise
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    run()
