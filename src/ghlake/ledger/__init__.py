"""The ledger: what was published, per GH Archive hour and per live poll window, and replay jobs."""

from ghlake.ledger.status import HourStatus, JobStatus
from ghlake.ledger.store import HourRecord, JobRecord, Ledger, PollRecord

__all__ = ["HourRecord", "HourStatus", "JobRecord", "JobStatus", "Ledger", "PollRecord"]
