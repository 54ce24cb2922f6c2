"""Replay jobs: started by the API, run in the background, kept in the ledger.

A job is a range of hours from a source. Jobs run one at a time in a worker
thread (the topic keeps per-repository order within an hour; interleaving two
replays would gain little on two cores). They survive a restart of the API:
on start, unfinished jobs are queued again and resume through the ledger
(published hours are skipped, an interrupted hour is read back and finished).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ghlake.errors import GhLakeError, InvalidInputError
from ghlake.hours import Hour, hour_range
from ghlake.ingest.replay import HourReport, Replayer
from ghlake.ledger import JobRecord, JobStatus, Ledger

__all__ = ["ReplayJobs", "ReplayRequest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayRequest:
    """What to replay."""

    first: Hour
    last: Hour
    source: str
    speed: float | None = None
    force: bool = False

    def validate(self, max_hours: int) -> None:
        """Refuse reversed and oversized ranges."""
        if self.last < self.first:
            raise InvalidInputError(f"range {self.first}..{self.last} is reversed")
        hours = int((self.last.start - self.first.start).total_seconds() // 3600) + 1
        if hours > max_hours:
            raise InvalidInputError(
                f"range {self.first}..{self.last} has {hours} hours; at most {max_hours} per job"
            )


class ReplayJobs:
    """The queue of replay jobs and the thread that runs them.

    ``open_replayer(source)`` builds a :class:`Replayer` for a job's source
    (``Platform.replayer`` in production); the job closes it when done.
    """

    def __init__(self, ledger: Ledger, open_replayer: Callable[[str], Replayer]) -> None:
        self.ledger = ledger
        self.open_replayer = open_replayer
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="replay-jobs", daemon=True)

    def start(self) -> int:
        """Start the worker and queue the jobs an earlier process left unfinished."""
        unfinished = self.ledger.unfinished_jobs()
        for job in unfinished:
            log.info("resuming replay job", extra={"job": job.id, "status": job.status})
            self._queue.put(job.id)
        self._thread.start()
        return len(unfinished)

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current hour; unfinished jobs stay queued in the ledger."""
        with self._lock:
            self._cancelled.add("*")
        self._queue.put(None)
        self._thread.join(timeout)

    def submit(self, request: ReplayRequest) -> JobRecord:
        """Queue a new job."""
        job = self.ledger.create_job(
            request.source, request.first, request.last, speed=request.speed, force=request.force
        )
        self._queue.put(job.id)
        return job

    def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a queued or running job (a running one stops within a few thousand lines)."""
        job = self.ledger.job(job_id)
        if job is None or job.finished:
            return job
        with self._lock:
            self._cancelled.add(job_id)
        if job.status is JobStatus.QUEUED:
            self.ledger.update_job(job_id, status=JobStatus.CANCELLED)
        return self.ledger.job(job_id)

    def _stopping(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._cancelled or "*" in self._cancelled

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            job = self.ledger.job(job_id)
            if job is None or job.finished or self._stopping(job_id):
                continue
            try:
                self._run(job)
            except Exception as exc:  # a job's failure is recorded; the worker goes on
                log.exception("replay job failed", extra={"job": job_id})
                self.ledger.update_job(job_id, status=JobStatus.FAILED, error=str(exc))

    def _run(self, job: JobRecord) -> None:
        self.ledger.update_job(job.id, status=JobStatus.RUNNING, error=None)
        totals = {"hours": 0, "published": 0, "dead": 0}

        def on_report(report: HourReport) -> None:
            totals["hours"] += 1
            totals["published"] += report.published
            totals["dead"] += report.dead_lettered
            self.ledger.update_job(
                job.id, hours_done=totals["hours"], published=totals["published"],
                dead_lettered=totals["dead"], current_hour=report.hour,
            )  # fmt: skip

        hours = list(hour_range(job.first_hour, job.last_hour))
        try:
            with self.open_replayer(job.source) as replayer:
                reports = replayer.run(
                    hours, force=bool(job.force), speed=job.speed,
                    should_stop=lambda: self._stopping(job.id), on_report=on_report,
                )  # fmt: skip
        except GhLakeError as exc:
            self.ledger.update_job(job.id, status=JobStatus.FAILED, error=str(exc))
            return
        if self._stopping(job.id):
            status = JobStatus.CANCELLED if job.id in self._cancelled else JobStatus.QUEUED
        else:
            status = JobStatus.DONE
        problems = [f"{r.hour}: {r.status}" for r in reports if not r.status.ok]
        self.ledger.update_job(job.id, status=status, error="; ".join(problems) or None)
        log.info("replay job ended", extra={"job": job.id, "status": status, **totals})
