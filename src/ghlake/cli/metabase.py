"""``ghlake metabase ...``: dashboards as code, provisioned into a Metabase."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ghlake.cli.common import console, load_platform

__all__ = ["metabase_app"]

metabase_app = typer.Typer(help="Metabase dashboards as code (metabase/).", no_args_is_help=True)


@metabase_app.command("provision")
def provision(  # noqa: PLR0917 - typer reads options from parameters
    url: Annotated[str, typer.Option("--url", help="Metabase's base URL")],
    api_key: Annotated[str | None, typer.Option("--api-key", help="a Metabase API key")] = None,
    user: Annotated[str | None, typer.Option("--user", help="or a Metabase user")] = None,
    password: Annotated[str | None, typer.Option("--password", help="and its password")] = None,
    warehouse_host: Annotated[
        str | None,
        typer.Option("--warehouse-host", help="the warehouse's host as Metabase reaches it"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the plan; change nothing")
    ] = False,
) -> None:
    """Create or update the database connection, collection, cards and dashboards (idempotent)."""
    if api_key is None and (user is None or password is None):
        raise typer.BadParameter("give --api-key, or --user and --password")
    provisioner = load_platform().metabase_provisioner(
        url, api_key=api_key, user=user, password=password, warehouse_host=warehouse_host
    )
    try:
        steps = provisioner.plan() if dry_run else provisioner.apply()
    finally:
        provisioner.client.close()
    table = Table(title="metabase plan" if dry_run else "metabase provisioned")
    for column in ("action", "kind", "name"):
        table.add_column(column)
    for step in steps:
        table.add_row(step.action, step.kind, step.name)
    console.print(table)
    refreshed = [d for d in provisioner.content.dashboards.values() if d.refresh]
    for dashboard in refreshed:
        console.print(
            f"{dashboard.title}: open it with #refresh={dashboard.refresh} to auto-refresh"
        )
