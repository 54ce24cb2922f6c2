"""A clock for tests: time passes only when something sleeps on it."""

from __future__ import annotations

import threading


class FakeClock:
    """Epoch seconds that advance by exactly what :meth:`sleep` is asked for."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The current fake time, in epoch seconds."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and let that much time pass at once."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Let time pass without anyone sleeping (another process, the world)."""
        with self._lock:
            self._now += seconds
