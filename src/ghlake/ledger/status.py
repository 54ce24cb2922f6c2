"""The states an hour and a replay job go through: one spelling for the ledger, the core and
every edge (CLI colours, API metrics).

Both are ``StrEnum``\\ s: a member equals its value, which is what the ledger stores.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["HourStatus", "JobStatus"]


class HourStatus(StrEnum):
    """Where one GH Archive hour stands."""

    PUBLISHING = "publishing"  # being published now, or left so by a killed producer
    PUBLISHED = "published"  # every line of the file is on the topics
    PARTIAL = "partial"  # the file broke off; every line before the damage is published
    CORRUPT = "corrupt"  # nothing of the file could be read
    MISSING = "missing"  # no archive has the hour
    FAILED = "failed"  # fetching failed after every retry and fallback
    INTERRUPTED = "interrupted"  # asked to stop mid-hour; resumed next time
    SKIPPED = "skipped"  # in a replay's report only: published before, not sent again

    @property
    def resumable(self) -> bool:
        """Whether a later replay resumes the hour (reads back what it delivered) by default."""
        return self in _RESUMABLE

    @property
    def ok(self) -> bool:
        """Whether the hour is on the topics in full."""
        return self in (HourStatus.PUBLISHED, HourStatus.SKIPPED)

    @classmethod
    def recorded(cls) -> tuple[HourStatus, ...]:
        """The states the ledger stores (all but ``skipped``)."""
        return tuple(s for s in cls if s is not cls.SKIPPED)


_RESUMABLE = frozenset({HourStatus.PUBLISHING, HourStatus.INTERRUPTED, HourStatus.PARTIAL})


class JobStatus(StrEnum):
    """Where one replay job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job will do nothing more."""
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
