"""``ghlake warehouse ...``: the ClickHouse warehouse (embedded chDB, or DDL for a server)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ghlake.cli.common import console, load_platform, load_settings
from ghlake.cli.common import serve as serve_app
from ghlake.platform import Platform

__all__ = ["warehouse_app"]

warehouse_app = typer.Typer(help="The ClickHouse warehouse (embedded chDB).", no_args_is_help=True)


@warehouse_app.command("serve")
def serve() -> None:
    """Run the warehouse service (owns the chDB engine; ClickHouse HTTP too) in the foreground."""
    from ghlake.warehouse_api.app import create_warehouse_asgi  # noqa: PLC0415

    settings = load_settings()
    warehouse = settings.warehouse
    serve_app(
        create_warehouse_asgi(settings), warehouse.host, warehouse.port, (warehouse.http_port,)
    )


def _migrate_here(platform: Platform) -> dict[str, Any]:
    from dataclasses import asdict  # noqa: PLC0415

    service = platform.warehouse_service()
    try:
        return asdict(service.migrate())
    finally:
        service.close()


@warehouse_app.command("migrate")
def migrate_command(
    status: Annotated[
        bool, typer.Option("--status", help="List migrations; change nothing.")
    ] = False,
) -> None:
    """Apply pending schema migrations (through the running service, or on the data path)."""
    platform = load_platform()
    client = platform.warehouse
    try:
        running = client.healthy()
        if status:
            if not running:
                raise typer.BadParameter("--status needs the warehouse service (ghlake up)")
            table = Table(title="warehouse migrations")
            for column in ("version", "name", "applied at"):
                table.add_column(column)
            for m in client.migrations():
                table.add_row(str(m["version"]), m["name"], m["applied_at"] or "[yellow]pending[/]")
            console.print(table)
            return
        report = client.migrate() if running else _migrate_here(platform)
    finally:
        platform.close()
    applied = ", ".join(report["applied"]) or "none pending"
    console.print(f"[green]schema at version {report['current_version']}[/]; applied: {applied}")
    if report["legacy_kept_as"]:
        console.print(
            f"the pre-migration table is kept as {report['legacy_kept_as']}; github_events is "
            "rebuilt from the topic (consumer group rewound)"
        )
    if report["pipeline_rebuilt"]:
        console.print("the Kafka engine table and its views were (re)created")


@warehouse_app.command("ddl")
def ddl(
    target: Annotated[
        str,
        typer.Option(
            help="embedded (chDB) or server (clickhouse-server, one consumer per partition)."
        ),
    ] = "server",
) -> None:
    """Print the warehouse DDL (bootstrap, migrations, Kafka pipeline) rendered for a target."""
    from ghlake.orchestration.provision import warehouse_ddl  # noqa: PLC0415
    from ghlake.warehouse.ddl import Target  # noqa: PLC0415

    if target not in ("embedded", "server"):
        raise typer.BadParameter("--target is embedded or server")
    mode: Target = "server" if target == "server" else "embedded"
    out: list[str] = []
    last = None
    for source, statement in warehouse_ddl(load_settings(), mode):
        if source != last:
            out.append(f"-- {source}")
            last = source
        out.append(f"{statement};\n")
    typer.echo("\n".join(out))
