"""``ghlake spark``: the Spark environment and the standalone cluster (spark/README.md)."""

from __future__ import annotations

import typer

from ghlake.cli.common import console, load_platform, start_group, stop_group

__all__ = ["spark_app"]

spark_app = typer.Typer(help="The Spark environment and its standalone cluster.")


@spark_app.command("install")
def install() -> None:
    """Create the Spark virtual environment and fetch its jars into the cache (once per pin)."""
    platform = load_platform()
    with console.status("installing the Spark environment (first time: a few minutes)"):
        platform.spark.install()
    console.print(f"[green]installed[/] {platform.spark.venv} and {platform.spark.jars_dir}")


@spark_app.command("up")
def up() -> None:
    """Start the standalone cluster: a master and ``GHLAKE_SPARK__WORKERS`` workers."""
    platform = start_group("spark", "starting Spark")
    master = platform.settings.spark.cluster_url
    console.print(f"jobs and notebooks on it: GHLAKE_SPARK__MASTER_URL={master}")


@spark_app.command("down")
def down() -> None:
    """Stop the standalone cluster."""
    stop_group("spark", "stopping Spark")
