"""``ghlake deploy ...``: preparing services ghlake does not start itself (compose, a cluster).

Each command is idempotent and is what ``ghlake up`` does after starting the service
locally; the one-shot ``*-init`` services of the compose files run them.
"""

from __future__ import annotations

import typer

from ghlake.cli.common import console, load_settings

__all__ = ["deploy_app"]

deploy_app = typer.Typer(
    help="Prepare existing services (a compose deployment, a cluster) for ghlake; idempotent.",
    no_args_is_help=True,
)


@deploy_app.command("topics")
def topics() -> None:
    """Create the events topic and its dead-letter topic on the cluster when missing."""
    from ghlake.orchestration.provision import create_topics  # noqa: PLC0415

    settings = load_settings()
    created = create_topics(settings)
    console.print(
        f"topics created on {settings.kafka.bootstrap}: {', '.join(created) or 'none (all exist)'}"
    )


@deploy_app.command("bucket")
def bucket() -> None:
    """Create the lake's bucket in the object store when missing."""
    from ghlake.orchestration.provision import create_bucket  # noqa: PLC0415

    settings = load_settings()
    state = "created" if create_bucket(settings) else "exists"
    console.print(f"bucket {settings.minio.bucket} at {settings.minio.endpoint}: {state}")


@deploy_app.command("warehouse-schema")
def warehouse_schema() -> None:
    """Apply the warehouse DDL (`ghlake warehouse ddl --target server`) to the clickhouse-server
    at GHLAKE_WAREHOUSE__HOST, as the admin user."""
    from ghlake.orchestration.provision import apply_warehouse_schema  # noqa: PLC0415

    settings = load_settings()
    count = apply_warehouse_schema(settings)
    warehouse = settings.warehouse
    console.print(f"{count} statements applied at {warehouse.host}:{warehouse.http_port}")
