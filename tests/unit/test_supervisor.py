"""The supervisor on a real child process (a loopback HTTP server)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx
import pytest

from ghlake.errors import ServiceError
from ghlake.services.supervisor import ProcessSpec, Supervisor


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spec(port: int, argv: list[str] | None = None) -> ProcessSpec:
    url = f"http://127.0.0.1:{port}/"
    return ProcessSpec(
        name="web",
        argv=argv or [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        address=url,
        health=lambda: httpx.get(url, timeout=1).status_code == 200,
        ready_timeout=15,
        stop_timeout=5,
    )


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    spec = _spec(_port())
    first = supervisor.start(spec)
    assert first.healthy
    assert first.changed
    assert first.pid
    second = supervisor.start(spec)
    assert second.pid == first.pid
    assert not second.changed
    stopped = supervisor.stop(spec)
    assert not stopped.running
    assert not Path(f"/proc/{first.pid}").exists()
    assert supervisor.status(spec).state == "stopped"


def test_a_process_that_dies_at_start_shows_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run", tmp_path / "logs")
    spec = _spec(
        _port(), [sys.executable, "-c", "import sys; print('boom: no config'); sys.exit(3)"]
    )
    with pytest.raises(ServiceError, match="boom: no config"):
        supervisor.start(spec)
    assert supervisor.pid("web") is None


def test_a_foreign_process_on_the_port_is_not_adopted(tmp_path: Path) -> None:
    port = _port()
    owner = Supervisor(tmp_path / "a", tmp_path / "a")
    owner.start(_spec(port))
    try:
        with pytest.raises(ServiceError, match="not started by ghlake"):
            Supervisor(tmp_path / "b", tmp_path / "b").start(_spec(port))
    finally:
        owner.stop(_spec(port))
