"""``ghlake api ...``: the public HTTP API."""

from __future__ import annotations

import typer

from ghlake.cli.common import load_settings
from ghlake.logs import configure_logging, logging_dict_config

__all__ = ["api_app"]

api_app = typer.Typer(help="The public HTTP API (replays, archive, health).", no_args_is_help=True)


@api_app.command("serve")
def serve() -> None:
    """Run the API in the foreground (OpenAPI docs at /docs)."""
    import uvicorn  # noqa: PLC0415

    from ghlake.api.app import create_app  # noqa: PLC0415

    settings = load_settings()
    configure_logging("INFO")
    uvicorn.run(
        create_app(settings),
        host=settings.api.host,
        port=settings.api.port,
        log_level="info",
        log_config=logging_dict_config("INFO"),
    )
