"""``ghlake warehouse ...``: the ClickHouse warehouse (embedded chDB)."""

from __future__ import annotations

import typer

from ghlake.cli.common import load_settings
from ghlake.logs import configure_logging, logging_dict_config

__all__ = ["warehouse_app"]

warehouse_app = typer.Typer(help="The ClickHouse warehouse (embedded chDB).", no_args_is_help=True)


@warehouse_app.command("serve")
def serve() -> None:
    """Run the warehouse service (owns the chDB engine) in the foreground."""
    import uvicorn  # noqa: PLC0415

    from ghlake.api.warehouse_app import create_warehouse_app  # noqa: PLC0415

    settings = load_settings()
    configure_logging("INFO")
    uvicorn.run(
        create_warehouse_app(settings),
        host=settings.warehouse.host,
        port=settings.warehouse.port,
        log_level="info",
        log_config=logging_dict_config("INFO"),
        workers=1,  # chDB: one engine per process
    )
