"""Hour and job states: one spelling, stored as text, with the rules edges ask about."""

from __future__ import annotations

from ghlake.ledger import HourStatus, JobStatus


def test_states_are_their_stored_text() -> None:
    assert HourStatus("published") is HourStatus.PUBLISHED
    assert JobStatus.DONE == "done"
    assert f"{HourStatus.PARTIAL}" == "partial"


def test_which_hours_resume_and_which_are_whole() -> None:
    resumable = {s for s in HourStatus if s.resumable}
    assert resumable == {HourStatus.PUBLISHING, HourStatus.INTERRUPTED, HourStatus.PARTIAL}
    assert {s for s in HourStatus if s.ok} == {HourStatus.PUBLISHED, HourStatus.SKIPPED}
    assert HourStatus.SKIPPED not in HourStatus.recorded()


def test_finished_jobs() -> None:
    finished = {s for s in JobStatus if s.finished}
    assert finished == {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED}
