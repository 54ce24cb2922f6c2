"""A private Kafka broker for one benchmark run (its own state directory and free ports)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ghlake.platform import Platform
from ghlake.settings import KafkaSettings, Settings

__all__ = ["free_port", "free_ports", "private_broker"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports nobody listens on right now (held open until all are found)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


@contextmanager
def private_broker(partitions: int = 6) -> Iterator[Settings]:
    """Settings of a broker started for the block, with the events topics created."""
    home = Path(tempfile.mkdtemp(prefix="ghlake-bench-"))
    kafka = KafkaSettings(port=free_port(), controller_port=free_port(), partitions=partitions)
    settings = Settings(home=home, kafka=kafka)
    platform = Platform(settings)
    try:
        platform.stack.start("kafka")
        yield settings
    finally:
        platform.stack.supervisor.stop(platform.stack.service("kafka").spec())
        platform.close()
        shutil.rmtree(home, ignore_errors=True)


def proc_cpu_seconds(stat: Path) -> float:
    """User + system CPU seconds in a ``/proc/PID/stat`` (or ``.../task/TID/stat``) file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
