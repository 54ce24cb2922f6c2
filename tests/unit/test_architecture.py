"""docs/architecture.md is the law: no module imports from a floor above its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ghlake"
DOC = ROOT / "docs" / "architecture.md"


def _floors() -> dict[str, int]:
    """Package (or top-level module) -> floor, from the doc's table."""
    floors = {}
    for number, packages in re.findall(r"^\| (\d+) \| ([^|]+) \|", DOC.read_text(), re.M):
        for name in re.findall(r"`([a-z_]+)`", packages):
            floors[name] = int(number)
    return floors


def _unit(module: str) -> str:
    """``ghlake.lake.store`` -> ``lake``; ``ghlake.platform`` -> ``platform``."""
    return module.split(".")[1]


def _imports() -> list[tuple[str, str, int]]:
    """(importing module's file, imported ghlake module, line) for every ghlake import."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("ghlake."):
                    found.append((str(path.relative_to(PACKAGE)), name, node.lineno))
    return found


def test_the_doc_names_every_package_once() -> None:
    floors = _floors()
    on_disk = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    on_disk |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert set(floors) == on_disk, "docs/architecture.md lists exactly the package's parts"


@pytest.mark.parametrize(("source", "target", "line"), _imports())
def test_no_import_climbs_a_floor(source: str, target: str, line: int) -> None:
    floors = _floors()
    here, there = source.split("/", 1)[0].removesuffix(".py"), _unit(target)
    assert floors[there] <= floors[here], (
        f"{source}:{line} imports {target}: floor {floors[there]} ({there}) is above "
        f"floor {floors[here]} ({here}); see docs/architecture.md"
    )


def test_same_floor_packages_do_not_import_each_other() -> None:
    """Packages on one floor are independent; a dependency means one belongs higher."""
    floors = _floors()
    crossing = sorted(
        f"{source}:{line} -> {target}"
        for source, target, line in _imports()
        if (here := source.split("/", 1)[0].removesuffix(".py")) != (there := _unit(target))
        and floors[here] == floors[there]
        and floors[here] < 10  # edges may share a helper (cli uses the Faust app it runs)
    )
    assert not crossing, crossing
