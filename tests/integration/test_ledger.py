"""One behaviour suite for the ledger, run on SQLite and on a real PostgreSQL from Debian."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghlake.hours import Hour
from ghlake.ledger import Ledger, PollRecord
from ghlake.services.postgres import init_cluster, postgres_spec
from ghlake.services.supervisor import Supervisor

pytestmark = [pytest.mark.integration]

H1, H2, H3 = (Hour.parse(h) for h in ("2016-01-01-0", "2016-01-01-1", "2016-01-01-2"))


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL cluster (Debian's package), started for this module."""
    # Not under pytest's tmp dir: as root, the server runs as user postgres, who cannot
    # traverse pytest's private (0700) folders.
    home = Path(tempfile.mkdtemp(prefix="ghlake-pg-"))
    home.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    init_cluster(home / "data")
    supervisor = Supervisor(home / "run", home / "logs")
    spec = postgres_spec(home / "data", port)
    supervisor.start(spec)
    try:
        yield spec.address
    finally:
        supervisor.stop(spec)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = Ledger(url)
    yield store
    if request.param == "postgresql":
        from ghlake.ledger.tables import metadata  # noqa: PLC0415

        metadata.drop_all(store.engine)
    store.close()


def test_an_hour_lifecycle(ledger: Ledger) -> None:
    ledger.begin_hour(H1, "https://mirror")
    record = ledger.hour(H1.name)
    assert record is not None
    assert (record.status, record.attempts, record.source) == ("publishing", 1, "https://mirror")
    assert record.started_at is not None
    assert record.started_at.tzinfo is not None
    ledger.finish_hour(
        H1, "published", lines=10, valid=8, recovered=1, dead_lettered=2, duplicates=1,
        bytes=1234, raw_bytes=9999, sha256="ab" * 32, offsets={0: (10, 14), 1: (20, 23)},
        seconds=0.5,
    )  # fmt: skip
    record = ledger.hour(H1.name)
    assert record is not None
    assert (record.status, record.published, record.dead_lettered) == ("published", 9, 2)
    assert record.offsets == {"0": [10, 14], "1": [20, 23]}
    assert record.finished_at is not None
    assert record.finished_at.tzinfo is not None
    ledger.begin_hour(H1, "https://mirror")
    again = ledger.hour(H1.name)
    assert again is not None
    assert again.attempts == 2


def test_ranges_statuses_and_counts(ledger: Ledger) -> None:
    ledger.finish_hour(H3, "missing", error="404")
    ledger.finish_hour(H1, "published", valid=5)
    ledger.finish_hour(H2, "partial", valid=3, recovered=1)
    assert [r.hour for r in ledger.hours(H1, H3)] == [H1.name, H2.name, H3.name]
    assert [r.hour for r in ledger.hours(H2, H2)] == [H2.name]
    assert ledger.published_counts([H1.name, H2.name, "2099-01-01-0"]) == {H1.name: 5, H2.name: 4}
    assert ledger.count_hours("missing") == 1


def test_jobs_survive_and_resume_in_order(ledger: Ledger) -> None:
    first = ledger.create_job("/data", H1, H3, speed=None, force=False)
    second = ledger.create_job("/data", H2, H2, speed=10.0, force=True)
    assert (first.hours_total, second.hours_total, first.status) == (3, 1, "queued")
    ledger.update_job(first.id, status="running", hours_done=1, current_hour=H1.name)
    ledger.update_job(second.id, status="done", hours_done=1)
    assert [j.id for j in ledger.unfinished_jobs()] == [first.id]
    job = ledger.job(first.id)
    assert job is not None
    assert (job.status, job.hours_done, job.finished) == ("running", 1, False)
    assert {j.id for j in ledger.jobs()} == {first.id, second.id}


def test_poll_windows(ledger: Ledger) -> None:
    record = PollRecord(H1.start, H1.end, 3, 1, 300, 120, 180, 120, 4999)
    ledger.record_poll(record)
    [back] = ledger.polls()
    assert back == record
