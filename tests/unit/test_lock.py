"""The committed lock pins every dependency pyproject.toml names, at a version it allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.MULTILINE)
    return {_canonical(name): version for name, version in pins}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_locked_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = _locked()
    for line in wanted:
        requirement = Requirement(line)
        name = _canonical(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock (run make lock)"
        assert requirement.specifier.contains(locked[name]), (
            f"{name}=={locked[name]} is outside {requirement.specifier} (run make lock)"
        )


def test_every_pin_carries_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (ROOT / "requirements.lock").read_text())
    for entry in entries:
        if "==" in entry.split("\n", 1)[0]:
            assert "--hash=sha256:" in entry, entry.split("\n", 1)[0]
