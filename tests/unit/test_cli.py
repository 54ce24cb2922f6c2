"""Every CLI command has help and is named in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ghlake.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> list[str]:
    root = typer.main.get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):  # a group of subcommands
            names += [f"{name} {sub}" for sub in command.commands]
        else:
            names.append(name)
    return sorted(names)


@pytest.mark.parametrize("command", _commands())
def test_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert re.search(rf"ghlake {re.escape(command)}\b", README.read_text()), (
        f"`ghlake {command}` is not documented in README.md"
    )


def test_known_errors_are_one_red_line() -> None:
    result = CliRunner().invoke(
        app, ["replay", "--source", "/nonexistent", "--from", "2015-13-01-0"]
    )
    assert result.exit_code != 0
