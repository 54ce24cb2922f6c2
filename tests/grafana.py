"""Grafana's ClickHouse client (clickhouse-go v2 over HTTP), run from the tests.

``clickhouse/grafana-check`` is a small Go program on clickhouse-go v2.40 (the client
inside Grafana's ClickHouse data source), pinned by its go.mod and go.sum. It is built
once per source into the cache (``<cache>/grafana-check/<hash>/grafana-check``), its
modules in ``<cache>/go-mod``, fetched through the Go module proxy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.jdbc import JdbcAnswer, parse_answers

CHECK = Path(__file__).resolve().parents[1] / "clickhouse" / "grafana-check"


def ensure_grafana_check(cache_dir: Path) -> Path:
    """The built check program, built with Go once per source."""
    sources = [*sorted(CHECK.glob("*.go")), CHECK / "go.mod", CHECK / "go.sum"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    binary = cache_dir / "grafana-check" / digest / "grafana-check"
    if binary.is_file():
        return binary
    if shutil.which("go") is None:
        pytest.skip("the Grafana client check needs Go")
    env = {**os.environ, "GOMODCACHE": str(cache_dir / "go-mod"), "GOFLAGS": "-mod=mod"}
    binary.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=CHECK, env=env,
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return binary


def run_grafana_check(
    binary: Path, addr: str, user: str, password: str, statements: list[str], *, lz4: bool = False
) -> tuple[str, list[JdbcAnswer]]:
    """The connection banner and each statement's answer through clickhouse-go."""
    argv = [str(binary), "-addr", addr, "-user", user, "-password", password]
    result = subprocess.run(
        [*argv, *(["-lz4"] if lz4 else [])], input="\n;;\n".join(statements) + "\n",
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return parse_answers(result.stdout)
