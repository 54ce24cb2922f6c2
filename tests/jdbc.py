"""The real ClickHouse JDBC driver (jdbc-v2 0.9.x, as in Metabase), run from the tests.

``clickhouse/jdbc-check/pom.xml`` pins the driver; Maven resolves it once into the cache
(``<cache>/jdbc-check/<pom hash>/libs``) and ``JdbcCheck.java`` runs in Java's single-file
source mode, so nothing is compiled by hand. Statements go in on stdin; each answer comes
back as column names and types, rows, or the driver's error.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[1] / "clickhouse" / "jdbc-check"


@dataclass
class JdbcAnswer:
    """One statement's answer through the driver."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    error: str | None = None


def ensure_jdbc_jars(cache_dir: Path) -> Path:
    """The driver's jars in the cache, resolved by Maven once per pom."""
    pom = CHECK / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    libs = cache_dir / "jdbc-check" / digest / "libs"
    if (libs / ".complete").is_file():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        pytest.skip("the JDBC check needs Maven and Java 17")
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    argv = ["mvn", "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={staging}"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    (staging / ".complete").write_text(digest + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    return libs


def run_jdbc(
    libs: Path, url: str, user: str, password: str, statements: list[str]
) -> tuple[str, list[JdbcAnswer]]:
    """The connection banner and each statement's answer (``!metadata``: Metabase's sync)."""
    argv = ["java", "-cp", f"{libs}/*", str(CHECK / "JdbcCheck.java"), url, user, password]
    stdin = "\n;;\n".join(statements) + "\n"
    result = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return parse_answers(result.stdout)


def parse_answers(stdout: str) -> tuple[str, list[JdbcAnswer]]:
    """The banner and answers a check program printed (JdbcCheck.java, grafana-check)."""
    lines = stdout.splitlines()
    banner = lines[0]
    answers: list[JdbcAnswer] = []
    current: JdbcAnswer | None = None
    for line in lines[1:]:
        if line.startswith("#error "):
            answers.append(JdbcAnswer(error=line.removeprefix("#error ")))
        elif line.startswith("#columns "):
            current = JdbcAnswer()
            for column in line.removeprefix("#columns ").split("\t"):
                name, _, kind = column.partition(" ")
                current.columns.append((name, kind))
        elif line.startswith("#end ") and current is not None:
            answers.append(current)
            current = None
        elif line.startswith(("#schemas", "#tables", "#columns-of")):
            current = current or JdbcAnswer()
            current.rows.append(line.split(" ", 1))
        elif line == "#end-metadata" and current is not None:
            answers.append(current)
            current = None
        elif current is not None:
            current.rows.append(line.split("\t"))
    return banner, answers
