"""Virtual environments of their own (Airflow, Spark), installed from hash locks with uv.

One uv for every lock: the pinned one ``scripts/uv.sh`` installs into the cache (as
``make lock`` and ``scripts/install.sh`` use it), with its downloads cached there too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from ghlake.errors import ServiceError
from ghlake.services.cache import locked
from ghlake.settings import Settings

__all__ = ["install_lock", "run_tool", "uv_install"]


def run_tool(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a set-up command; its output, or a :class:`ServiceError` with its last lines."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise ServiceError(f"{what} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def uv_install(settings: Settings, venv: Path, *requirements: str, what: str) -> None:
    """Create ``venv`` (Python 3.11, this interpreter) if needed and install into it."""
    env = {**os.environ, "UV_CACHE_DIR": str(settings.cache_dir / "uv-cache"),
           "GHLAKE_CACHE_DIR": str(settings.cache_dir)}  # fmt: skip
    uv = run_tool([str(settings.root / "scripts" / "uv.sh")], "installing uv", env).strip()
    with locked(venv):  # another checkout may be installing into the shared venv
        if not (venv / "bin" / "python").is_file():
            run_tool([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], what, env)
        python = str(venv / "bin" / "python")
        # --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set, nothing else would.
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python]
        run_tool([*install, *requirements], what, env)


def install_lock(settings: Settings, venv: Path, lock: Path) -> Path:
    """Install ``lock`` (a uv hash lock) into ``venv`` unless its stamp says it is there."""
    stamp = venv / ".ghlake-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return venv
    uv_install(settings, venv, "--require-hashes", "-r", str(lock), what=f"installing {lock}")
    stamp.write_text(f"{digest}\n")
    return venv
