"""``ghlake api ...``: the public HTTP API."""

from __future__ import annotations

import typer

from ghlake.cli.common import load_settings
from ghlake.cli.common import serve as serve_app

__all__ = ["api_app"]

api_app = typer.Typer(help="The public HTTP API (replays, archive, health).", no_args_is_help=True)


@api_app.command("serve")
def serve() -> None:
    """Run the API in the foreground (OpenAPI docs at /docs)."""
    from ghlake.api.app import create_app  # noqa: PLC0415

    settings = load_settings()
    serve_app(create_app(settings), settings.api.host, settings.api.port)
