"""What GH Archive looked like at a given hour: type mix, payload shape, id ranges.

Every figure here is calibrated on the real files in ``shared/data/gharchive``
(see its SOURCES.md) and on ``shared/reference/gharchive-facts.md``. Dates of
payload changes that the samples only bracket are marked as approximate; the
generator needs a plausible step, not GitHub's exact deploy time.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from ghlake.errors import InvalidInputError
from ghlake.hours import Hour

__all__ = [
    "EVENTS_API_START",
    "EVENT_TYPES",
    "TRIM_START",
    "Shape",
    "counter_at",
    "event_id_range",
    "main_branch_share",
    "shape_for",
    "type_mix",
]


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


EVENTS_API_START = _ts("2015-01-01T00:00:00")
"""Before 2015 GH Archive stored Timeline API records, a format this generator does not emit."""

TRIM_START = _ts("2025-10-07T00:00:00")
"""GitHub's permanent payload cut (trimmed PushEvent / PullRequestEvent, no author_association)."""

EVENT_TYPES: tuple[str, ...] = (
    "PushEvent",
    "CreateEvent",
    "DeleteEvent",
    "WatchEvent",
    "ForkEvent",
    "IssueCommentEvent",
    "IssuesEvent",
    "PullRequestEvent",
    "PullRequestReviewCommentEvent",
    "PullRequestReviewEvent",
    "CommitCommentEvent",
    "GollumEvent",
    "ReleaseEvent",
    "MemberEvent",
    "PublicEvent",
)


@dataclass(frozen=True, slots=True)
class Shape:
    """Which payload fields exist at an hour; each flag is one step in GitHub's API history."""

    display_login: bool  # actor.display_login (first seen 2016-05-20)
    v2016: bool  # assignees, issue.repository_url, push author {name, email} order (~2016-06)
    v2017: bool  # PR reviewers/rebaseable, review ids, label ids, avatar ?v=4 (~2017-01)
    author_association: bool  # on issues, comments, PRs, reviews (~2017-08)
    node_id: bool  # GraphQL node ids, PR labels/requested_teams, repo license (~2018-07)
    v2019: bool  # repository "disabled" (~2019-06)
    v2020: bool  # draft, active_lock_reason, performed_via_github_app, line fields (~2020-01)
    auto_merge: bool  # pull_request.auto_merge (~2021-02)
    v2021: bool  # repo allow_forking/topics/visibility, push author {email, name} again (~2021-11)
    v2022: bool  # reactions, timeline_url, state_reason, push repository_id (~2022-06)
    trimmed: bool  # the 2025-10-07 cut


_SHAPE_STEPS: tuple[tuple[str, int], ...] = (
    ("display_login", _ts("2016-05-20T00:00:00")),
    ("v2016", _ts("2016-06-01T00:00:00")),
    ("v2017", _ts("2017-01-01T00:00:00")),
    ("author_association", _ts("2017-08-01T00:00:00")),
    ("node_id", _ts("2018-07-01T00:00:00")),
    ("v2019", _ts("2019-06-01T00:00:00")),
    ("v2020", _ts("2020-01-01T00:00:00")),
    ("auto_merge", _ts("2021-02-01T00:00:00")),
    ("v2021", _ts("2021-11-01T00:00:00")),
    ("v2022", _ts("2022-06-01T00:00:00")),
    ("trimmed", TRIM_START),
)


def _check(hour: Hour) -> int:
    start = int(hour.start.timestamp())
    if start < EVENTS_API_START:
        raise InvalidInputError(
            f"hour {hour} predates 2015: GH Archive then stored Timeline API records, "
            "which the synthetic generator does not produce"
        )
    return start


def shape_for(hour: Hour) -> Shape:
    """The payload shape GH Archive served during ``hour``."""
    start = _check(hour)
    return Shape(**{name: start >= since for name, since in _SHAPE_STEPS})


# Type mixes in percent: one row per type, one column per era (eras start on the dates
# in _MIX_STARTS). 2015 pools the three real 2015-01-01 hours; 2017 and 2020-08 come from
# the 2016-2021 sample lines and the 2021-01-01-1 extract (PullRequestReviewEvent from
# 2020-08); the 2025+ columns follow gharchive-facts.md (Push 59% once GH Archive read
# only page 1 from 2025-05-23, 87% by 2026-06 with Watch 0.05% and PR 0.26%) and the
# hourly PR/review counts published alongside it (PR 5.6% in 2025-10, 1.3% in 2026-03).
# fmt: off
_MIX_STARTS = tuple(
    _ts(f"{day}T00:00:00")
    for day in ("2015-01-01", "2017-01-01", "2020-08-01", "2025-05-23", "2025-10-07",
                "2026-03-01", "2026-06-01")
)
_MIX_TABLE: Mapping[str, tuple[float, ...]] = MappingProxyType({
    # era:                            2015   2017   2020-8 2025-5 2025-10 2026-3 2026-6
    "PushEvent":                     (56.50, 60.00, 62.00, 59.00, 72.00, 82.00, 87.00),
    "CreateEvent":                   (10.00, 13.00, 10.50, 12.50, 10.00,  9.00,  7.50),
    "DeleteEvent":                   ( 1.10,  2.40,  1.70,  2.80,  2.20,  3.50,  3.00),
    "WatchEvent":                    (10.70,  7.00,  4.20,  3.00,  1.50,  0.30,  0.05),
    "ForkEvent":                     ( 3.10,  1.60,  2.00,  1.50,  0.60,  0.50,  0.20),
    "IssueCommentEvent":             ( 7.10,  5.50,  4.80,  5.50,  3.60,  1.00,  0.55),
    "IssuesEvent":                   ( 4.10,  2.60,  2.00,  2.20,  1.30,  0.60,  0.30),
    "PullRequestEvent":              ( 3.70,  5.80,  8.00,  8.00,  5.60,  1.30,  0.26),
    "PullRequestReviewCommentEvent": ( 0.80,  0.80,  0.90,  1.20,  0.50,  0.20,  0.04),
    "PullRequestReviewEvent":        ( 0.00,  0.00,  3.00,  3.20,  2.20,  0.35,  0.06),
    "CommitCommentEvent":            ( 0.75,  0.40,  0.05,  0.05,  0.02,  0.02,  0.01),
    "GollumEvent":                   ( 1.30,  0.40,  0.15,  0.10,  0.05,  0.05,  0.01),
    "ReleaseEvent":                  ( 0.48,  0.50,  0.40,  0.50,  0.30,  0.80,  0.80),
    "MemberEvent":                   ( 0.17,  0.30,  0.10,  0.10,  0.05,  0.08,  0.03),
    "PublicEvent":                   ( 0.12,  0.20,  0.30,  0.30,  0.10,  0.30,  0.20),
})
# fmt: on
_MIXES: tuple[Mapping[str, float], ...] = tuple(
    MappingProxyType(
        {
            name: row[era] / sum(shares[era] for shares in _MIX_TABLE.values())
            for name, row in _MIX_TABLE.items()
            if row[era] > 0
        }
    )
    for era in range(len(_MIX_STARTS))
)


def type_mix(hour: Hour) -> Mapping[str, float]:
    """Share of each event type (summing to 1) that GH Archive held around ``hour``."""
    start = _check(hour)
    return _MIXES[bisect_right(_MIX_STARTS, start) - 1]


def _interp(anchors: tuple[tuple[int, float], ...], at: int) -> float:
    """Piecewise-linear through ``anchors``, extended with the first/last slope."""
    index = min(max(bisect_right([t for t, _ in anchors], at), 1), len(anchors) - 1)
    (t0, v0), (t1, v1) = anchors[index - 1], anchors[index]
    return v0 + (v1 - v0) * (at - t0) / (t1 - t0)


# Event ids: first ids of real hours (2015-2021 samples, 2023-04 API page, a
# 2024-10 API page) and, after the cut, the reused ~5.6e9 range that collides
# with 2020 ids by 2026-08 (gharchive-facts.md).
_EVENT_IDS_BEFORE_CUT: tuple[tuple[int, float], ...] = (
    (_ts("2015-01-01T00:00:00"), 2.4890e9),
    (_ts("2016-01-01T00:00:00"), 3.4800e9),
    (_ts("2017-01-01T00:00:00"), 5.0700e9),
    (_ts("2018-01-01T00:00:00"), 7.0500e9),
    (_ts("2019-01-01T00:00:00"), 8.8000e9),
    (_ts("2020-01-01T00:00:00"), 11.190e9),
    (_ts("2021-01-01T00:00:00"), 14.680e9),
    (_ts("2022-01-01T00:00:00"), 19.550e9),
    (_ts("2023-04-04T00:00:00"), 28.260e9),
    (_ts("2024-10-01T00:00:00"), 43.500e9),
    (TRIM_START, 53.500e9),
)
_EVENT_IDS_AFTER_CUT: tuple[tuple[int, float], ...] = (
    (TRIM_START, 5.600e9),
    (_ts("2026-08-01T00:00:00"), 12.500e9),
)


def _hourly_span(anchors: tuple[tuple[int, float], ...]) -> int:
    return min(
        int((v1 - v0) / (t1 - t0) * 3600) for (t0, v0), (t1, v1) in itertools.pairwise(anchors)
    )


# The fewest event ids GitHub issued in any hour the anchors describe (early 2015: ~113k).
_MIN_HOURLY_SPAN = min(_hourly_span(_EVENT_IDS_BEFORE_CUT), _hourly_span(_EVENT_IDS_AFTER_CUT))


def _event_id_at(at: int, events: int) -> int:
    anchors = _EVENT_IDS_AFTER_CUT if at >= TRIM_START else _EVENT_IDS_BEFORE_CUT
    value = int(_interp(anchors, at))
    # Volumes beyond what GitHub issued (load tests) widen every hour by the same amount, so
    # ids stay unique and increasing over any range generated with one config.
    boost = max(0, 2 * events - _MIN_HOURLY_SPAN)
    return value + (at - EVENTS_API_START) // 3600 * boost


def event_id_range(hour: Hour, events: int = 0) -> tuple[int, int]:
    """``[first, end)`` of the event ids GitHub issued during ``hour``.

    With ``events`` above the real volume of the early hours (~50k), every hour's range
    is widened to at least twice ``events``, leaving realistic volumes untouched.
    """
    start = _check(hour)
    if start + 3600 == TRIM_START:
        return _event_id_at(start, events), _event_id_at(start + 3599, events) + 1
    return _event_id_at(start, events), _event_id_at(start + 3600, events)


# Other GitHub-wide id sequences, read off the same samples (2015-01-01, 2021-01-01,
# 2023-04) plus rough 2024/2026 values; only growth and magnitude matter.
_COUNTERS: Mapping[str, tuple[tuple[int, float], ...]] = MappingProxyType(
    {
        "push": (
            (_ts("2015-01-01T00:00:00"), 5.37e8),
            (_ts("2021-01-01T00:00:00"), 6.28e9),
            (_ts("2024-01-01T00:00:00"), 1.60e10),
            (_ts("2026-01-01T00:00:00"), 2.80e10),
        ),
        "issue": (
            (_ts("2015-01-01T00:00:00"), 5.32e7),
            (_ts("2021-01-01T00:00:00"), 7.77e8),
            (_ts("2024-09-01T00:00:00"), 2.50e9),
            (_ts("2026-01-01T00:00:00"), 3.80e9),
        ),
        "issue_comment": (
            (_ts("2015-01-01T00:00:00"), 6.85e7),
            (_ts("2021-01-01T00:00:00"), 7.53e8),
            (_ts("2023-04-04T00:00:00"), 1.50e9),
            (_ts("2026-01-01T00:00:00"), 3.70e9),
        ),
        "pull": (
            (_ts("2015-01-01T00:00:00"), 2.67e7),
            (_ts("2021-01-01T00:00:00"), 5.475e8),
            (_ts("2024-10-01T00:00:00"), 2.175e9),
            (_ts("2026-01-01T00:00:00"), 3.10e9),
        ),
        "review_comment": (
            (_ts("2015-01-01T00:00:00"), 2.24e7),
            (_ts("2021-01-01T00:00:00"), 5.507e8),
            (_ts("2023-04-04T00:00:00"), 1.161e9),
            (_ts("2026-01-01T00:00:00"), 2.6e9),
        ),
        "review": (
            (_ts("2015-01-01T00:00:00"), 1.0e6),
            (_ts("2021-01-01T00:00:00"), 5.606e8),
            (_ts("2023-04-04T00:00:00"), 1.3766e9),
            (_ts("2026-01-01T00:00:00"), 3.6e9),
        ),
        "release": (
            (_ts("2015-01-01T00:00:00"), 8.18e5),
            (_ts("2021-01-01T00:00:00"), 3.59e7),
            (_ts("2024-09-01T00:00:00"), 1.77e8),
            (_ts("2026-01-01T00:00:00"), 2.7e8),
        ),
        "repo": (
            (_ts("2015-01-01T00:00:00"), 2.868e7),
            (_ts("2021-01-01T00:00:00"), 3.259e8),
            (_ts("2023-04-04T00:00:00"), 6.2475e8),
            (_ts("2026-01-01T00:00:00"), 1.12e9),
        ),
        "commit_comment": (
            (_ts("2015-01-01T00:00:00"), 9.13e6),
            (_ts("2021-01-01T00:00:00"), 4.5e7),
            (_ts("2026-01-01T00:00:00"), 1.6e8),
        ),
        "label": (
            (_ts("2015-01-01T00:00:00"), 1.8e8),
            (_ts("2021-01-01T00:00:00"), 2.62e9),
            (_ts("2026-01-01T00:00:00"), 9.0e9),
        ),
    }
)


def counter_at(kind: str, at: int) -> tuple[int, int]:
    """GitHub's id counter ``kind`` at epoch ``at``, and how much it grows per hour."""
    anchors = _COUNTERS[kind]
    value = _interp(anchors, at)
    return int(value), max(1, int(_interp(anchors, at + 3600) - value))


_MAIN_BRANCH: tuple[tuple[int, float], ...] = (
    (_ts("2020-10-01T00:00:00"), 0.0),
    (_ts("2021-06-01T00:00:00"), 0.30),
    (_ts("2024-01-01T00:00:00"), 0.75),
)


def main_branch_share(at: int) -> float:
    """Share of repositories whose default branch is ``main`` (GitHub's default since 2020-10)."""
    return min(0.85, max(0.0, _interp(_MAIN_BRANCH, at)))
