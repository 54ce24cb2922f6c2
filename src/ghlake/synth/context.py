"""Per-hour generation state shared by the payload builders.

One :class:`HourContext` lives for one hour: its random stream, the
population, the object builders and GitHub's id counters, which advance
monotonically so that nested ids (comments, issues, pushes) are unique within
the hour and grow from hour to hour as the real ones do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from types import MappingProxyType

from ghlake.synth.eras import Shape, counter_at, main_branch_share
from ghlake.synth.objects import Objects
from ghlake.synth.population import Account, Population, Repo

__all__ = ["Counters", "HourContext"]

# Which event types consume each counter, and how many new ids one event uses.
_COUNTER_USERS: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {
        "push": (("PushEvent", 1.0),),
        "issue": (("IssuesEvent", 0.7), ("IssueCommentEvent", 0.05)),
        "issue_comment": (("IssueCommentEvent", 1.0),),
        "pull": (("PullRequestEvent", 0.6),),
        "review_comment": (("PullRequestReviewCommentEvent", 1.0),),
        "review": (("PullRequestReviewEvent", 1.0), ("PullRequestReviewCommentEvent", 1.0)),
        "release": (("ReleaseEvent", 1.0),),
        "repo": (("ForkEvent", 1.0), ("PullRequestEvent", 0.5)),
        "commit_comment": (("CommitCommentEvent", 1.0),),
        "label": (("IssuesEvent", 0.1),),
    }
)


class Counters:
    """GitHub-wide id sequences (push ids, comment ids, ...) during one hour."""

    __slots__ = ("_growth", "_rng", "_step", "_value")

    def __init__(self, start: int, rng: random.Random, events: int, mix: Mapping[str, float]):
        self._rng = rng
        self._value: dict[str, int] = {}
        self._growth: dict[str, int] = {}
        self._step: dict[str, int] = {}
        for kind, users in _COUNTER_USERS.items():
            value, growth = counter_at(kind, start)
            uses = max(1.0, events * sum(mix.get(name, 0.0) * per for name, per in users))
            self._value[kind] = value
            self._growth[kind] = growth
            # Mean increment ~ step / 2, so an hour consumes about half its real growth
            # and never runs into the next hour's range.
            self._step[kind] = max(1, int(growth / uses))

    def next(self, kind: str) -> int:
        """A new id of ``kind``, larger than every one handed out before in this hour."""
        value = self._value[kind] + 1 + int(self._rng.random() * self._step[kind])
        self._value[kind] = value
        return value

    def past(self, kind: str, age: int) -> int:
        """An id of ``kind`` issued ``age`` seconds before the hour (an older issue, ...)."""
        return max(1, self._value[kind] - int(self._growth[kind] * age / 3600) - 1)


class HourContext:
    """Everything a payload builder needs for the event being generated."""

    __slots__ = (
        "at",
        "bots",
        "counters",
        "main_share",
        "objs",
        "pop",
        "rng",
        "shape",
        "start",
    )

    def __init__(
        self, rng: random.Random, pop: Population, shape: Shape, start: int, counters: Counters
    ) -> None:
        self.rng = rng
        self.pop = pop
        self.shape = shape
        self.start = start
        self.at = start
        self.counters = counters
        self.objs = Objects(shape)
        self.main_share = main_branch_share(start)
        self.bots: tuple[Account, ...] = pop.bots(start)

    def age(self, median_hours: float, cap_days: int = 1500) -> int:
        """A log-normal age in seconds: most items are days old, some years."""
        hours = median_hours * math.exp(self.rng.gauss(0.0, 1.6))
        return 60 + int(min(hours, cap_days * 24.0) * 3600)

    def default_branch(self, repo: Repo) -> str:
        """``master`` or ``main``; a repository switches once, as GitHub's default did."""
        threshold = ((repo.key >> 40) % 1000) / 1000.0
        if (repo.key >> 52) % 50 == 0:
            return "develop"
        return "main" if threshold < self.main_share else "master"

    def association(self, repo: Repo, account: Account, insider: bool) -> str:
        """``author_association`` of ``account`` on ``repo``."""
        if account.id == repo.owner.id:
            return "OWNER"
        if insider:
            return "MEMBER" if repo.org is not None else "COLLABORATOR"
        roll = self.rng.random()
        return "NONE" if roll < 0.55 else "CONTRIBUTOR" if roll < 0.9 else "COLLABORATOR"
