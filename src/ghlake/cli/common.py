"""What every CLI module shares: the consoles, settings and the platform, progress bars."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ghlake.platform import Platform
from ghlake.settings import Settings
from ghlake.settings import load_settings as _load

__all__ = ["console", "err_console", "load_platform", "load_settings", "new_progress"]

console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    """Settings from the environment (built once per command, at the edge)."""
    return _load()


def load_platform() -> Platform:
    """The platform for the environment's settings."""
    return Platform(load_settings())


def new_progress() -> Progress:
    """A progress bar with a count of items and of lines."""
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        MofNCompleteColumn(), TextColumn("{task.fields[lines]:,} lines"),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip
