"""``ghlake airflow up|down`` and ``ghlake backfill``: Airflow on the stack, and its backfills."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ghlake.cli.common import console, load_platform, load_settings, start_group, stop_group
from ghlake.errors import ServiceError
from ghlake.hours import Hour
from ghlake.orchestration.airflow_api import BackfillProgress, follow
from ghlake.services.airflow import ensure_airflow_venv

__all__ = ["airflow_app", "backfill"]

airflow_app = typer.Typer(
    help="Airflow (backfills and compaction): scheduler, dag-processor, api-server, triggerer.",
    no_args_is_help=True,
)


@airflow_app.command("install")
def airflow_install() -> None:
    """Create Airflow's virtual environment from airflow/requirements.lock (once per lock)."""
    settings = load_settings()
    with console.status("installing Airflow's environment (first time: a minute or two)"):
        venv = ensure_airflow_venv(settings)
    console.print(f"[green]installed[/] {venv}")


@airflow_app.command("up")
def airflow_up() -> None:
    """Start Airflow's database and components (the rest of the stack is left as it is)."""
    platform = start_group("airflow", "starting Airflow (first time: a minute)")
    console.print(f"Airflow's UI: {platform.settings.airflow.url} "
                  f"(user {platform.settings.airflow.admin_user})")  # fmt: skip


@airflow_app.command("down")
def airflow_down() -> None:
    """Stop Airflow's components and its database."""
    stop_group("airflow", "stopping Airflow")


def backfill(
    from_: Annotated[str, typer.Option("--from", help="First hour, e.g. 2015-01-01-0.")],
    to: Annotated[str, typer.Option("--to", help="Last hour, e.g. 2015-01-01-23.")],
    *,
    source: Annotated[
        str | None, typer.Option(help="Folder or mirror URL; default the configured mirror.")
    ] = None,
    reprocess: Annotated[
        Literal["failed", "completed"] | None,
        typer.Option(help="Run hours again whose runs failed, or every hour that ran."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Publish hours the ledger has published again.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Follow the backfill with a progress bar.")] = True,
) -> None:
    """Backfill GH Archive hours as an Airflow backfill of the gharchive_hourly DAG."""
    first, last = Hour.parse(from_), Hour.parse(to)
    conf: dict[str, object] = {"force": force}
    if source is not None:
        conf["source"] = source
    platform = load_platform()
    client = platform.airflow()
    try:
        created = client.create_backfill(first, last, conf=conf, reprocess=reprocess or "none")
        console.print(f"backfill {created.id} of gharchive_hourly: {first}..{last} "
                      f"({platform.settings.airflow.url}/dags/gharchive_hourly)")  # fmt: skip
        if not wait:
            return
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[states]}"), TimeElapsedColumn(), console=console,
        )  # fmt: skip
        with progress:
            bar = progress.add_task("hours", total=None, states="")

            def show(state: BackfillProgress) -> None:
                states = ", ".join(f"{n} {s}" for s, n in sorted(state.states.items()))
                progress.update(bar, total=state.hours, completed=state.finished_runs,
                                states=states)  # fmt: skip

            final = follow(client, created, show)
    finally:
        client.close()
    if final.failed_hours:
        raise ServiceError(
            f"{len(final.failed_hours)} hours failed: {', '.join(final.failed_hours)}; "
            "see the runs in Airflow, or `ghlake reconcile`"
        )
    console.print(f"[green]backfill {created.id} done[/]: {final.finished_runs} hours")
