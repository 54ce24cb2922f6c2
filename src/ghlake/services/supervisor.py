"""Start, watch and stop local service processes without Docker.

Each service runs as its own process group with a pid file and a log file
under the state directory. Starting is idempotent: a service whose recorded
process is alive and healthy is left alone; a stale pid file is cleared.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ghlake.errors import ServiceError

__all__ = ["ProcessSpec", "ServiceStatus", "Supervisor"]

HealthCheck = Callable[[], bool]


@dataclass(frozen=True)
class ProcessSpec:
    """How to run one service process and how to tell it is healthy."""

    name: str
    argv: Sequence[str]
    address: str
    health: HealthCheck
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_timeout: float = 60.0
    stop_timeout: float = 20.0


@dataclass(frozen=True)
class ServiceStatus:
    """What a service looks like right now."""

    name: str
    address: str
    pid: int | None
    running: bool
    healthy: bool
    log: Path
    changed: bool = False  # True when this call started or stopped it

    @property
    def state(self) -> str:
        """One word for tables: healthy, unhealthy or stopped."""
        if not self.running:
            return "stopped"
        return "healthy" if self.healthy else "unhealthy"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _safe_health(check: HealthCheck) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - a failing probe means "not healthy", whatever it raised
        return False


class Supervisor:
    """Keeps pid files in ``run_dir`` and logs in ``log_dir``."""

    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir
        # Processes this supervisor started, kept so they are reaped, not leaked as zombies.
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def _pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        """Where a service's stdout and stderr go."""
        return self.log_dir / f"{name}.log"

    def _running(self, pid: int) -> bool:
        """Whether ``pid`` runs; our own children are asked through their Popen, which
        then knows their exit status (and does not warn that they still run)."""
        for child in self._children.values():
            if child.pid == pid:
                return child.poll() is None
        return _alive(pid)

    def pid(self, name: str) -> int | None:
        """The recorded pid of a live process, clearing a stale pid file."""
        path = self._pid_file(name)
        try:
            pid = int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if self._running(pid):
            return pid
        path.unlink(missing_ok=True)
        return None

    def status(self, spec: ProcessSpec) -> ServiceStatus:
        """Current status of ``spec``'s process."""
        pid = self.pid(spec.name)
        healthy = pid is not None and _safe_health(spec.health)
        return ServiceStatus(
            spec.name, spec.address, pid, pid is not None, healthy, self.log_file(spec.name)
        )

    def start(self, spec: ProcessSpec) -> ServiceStatus:
        """Start ``spec`` unless it already runs; wait until it is healthy."""
        current = self.status(spec)
        if current.running:
            if current.healthy:
                return current
            return self._wait_healthy(spec, current.pid, started=False)
        if _safe_health(spec.health):
            raise ServiceError(
                f"{spec.name}: something not started by ghlake already answers at {spec.address}; "
                "stop it or configure another port"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file(spec.name).open("ab")
        log.write(f"\n=== ghlake starting {spec.name}: {' '.join(spec.argv)}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=spec.cwd,
                env={**os.environ, **spec.env},
                start_new_session=True,
            )
        except OSError as exc:
            raise ServiceError(f"{spec.name}: cannot run {spec.argv[0]}: {exc}") from exc
        finally:
            log.close()
        self._children[spec.name] = process
        self._pid_file(spec.name).write_text(f"{process.pid}\n")
        return self._wait_healthy(spec, process.pid, started=True)

    def _wait_healthy(self, spec: ProcessSpec, pid: int | None, *, started: bool) -> ServiceStatus:
        deadline = time.monotonic() + spec.ready_timeout
        while time.monotonic() < deadline:
            if pid is None or not self._running(pid):
                self._forget(spec.name)
                raise ServiceError(
                    f"{spec.name} exited during start-up; last log lines:\n{self.tail(spec.name)}"
                )
            if _safe_health(spec.health):
                return ServiceStatus(
                    spec.name, spec.address, pid, True, True, self.log_file(spec.name), started
                )
            time.sleep(0.25)
        if started:  # do not leave a half-started process behind
            self.stop(spec)
        raise ServiceError(
            f"{spec.name} did not become healthy at {spec.address}"
            f" within {spec.ready_timeout:.0f}s; see {self.log_file(spec.name)};"
            f" last log lines:\n{self.tail(spec.name)}"
        )

    def stop(self, spec: ProcessSpec) -> ServiceStatus:
        """Stop the service's whole process group: SIGTERM, then SIGKILL after a grace period."""
        pid = self.pid(spec.name)
        if pid is None:
            return ServiceStatus(
                spec.name, spec.address, None, False, False, self.log_file(spec.name)
            )
        self.signal(spec.name, signal.SIGTERM)
        deadline = time.monotonic() + spec.stop_timeout
        while time.monotonic() < deadline and self._running(pid):
            time.sleep(0.1)
        if self._running(pid):
            self.signal(spec.name, signal.SIGKILL)
            while self._running(pid):
                time.sleep(0.05)
        self._forget(spec.name)
        return ServiceStatus(
            spec.name, spec.address, None, False, False, self.log_file(spec.name), changed=True
        )

    def kill(self, spec: ProcessSpec, timeout: float = 10) -> bool:
        """``kill -9`` the process group (a crash, for fault tests); wait until it is gone."""
        pid = self.pid(spec.name)
        if pid is None:
            return False
        self.signal(spec.name, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self._running(pid):
            if time.monotonic() > deadline:
                raise ServiceError(f"{spec.name} (pid {pid}) survived SIGKILL for {timeout:.0f}s")
            time.sleep(0.02)
        self._forget(spec.name)
        return True

    def _forget(self, name: str) -> None:
        """Drop the pid file and reap the child, once its process has ended."""
        self._pid_file(name).unlink(missing_ok=True)
        child = self._children.pop(name, None)
        if child is not None:
            child.poll()

    def signal(self, name: str, signum: int) -> bool:
        """Send ``signum`` to the service's process group; False when it does not run."""
        pid = self.pid(name)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)
        return True

    def tail(self, name: str, lines: int = 20) -> str:
        """The last lines of a service's log."""
        try:
            text = self.log_file(name).read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
