"""Settings of the synthetic generator.

Kept apart from the generator so that every module (population, payloads,
hour files) can depend on it without import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghlake.errors import InvalidInputError

__all__ = ["MAX_ACCOUNTS", "MAX_REPOSITORIES", "SynthConfig"]

# Population ids are drawn from fixed ranges (see population.py) so that they
# stay stable and never collide with the ids of forks, bots or new repositories.
MAX_ACCOUNTS = 1 << 24
MAX_REPOSITORIES = 1 << 24


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """What to generate: volume per hour, seed and population sizes.

    The seed and the population sizes fix *who* exists (repository and actor
    ids, names, owners); the hour only decides *what happens*. Two hours with
    the same config therefore share the same hot repositories and users.
    """

    events_per_hour: int = 20_000
    seed: int = 0
    repositories: int = 50_000
    actors: int = 100_000

    def __post_init__(self) -> None:
        if self.events_per_hour < 0:
            raise InvalidInputError(f"events_per_hour must be >= 0, not {self.events_per_hour}")
        if not 1 <= self.repositories <= MAX_REPOSITORIES:
            raise InvalidInputError(
                f"repositories must be between 1 and {MAX_REPOSITORIES}, not {self.repositories}"
            )
        if not self.actors >= 2 or self.actors + self.organisations > MAX_ACCOUNTS:
            raise InvalidInputError(
                f"actors must be between 2 and about {MAX_ACCOUNTS * 20 // 21}, not {self.actors}"
            )

    @property
    def organisations(self) -> int:
        """Number of organisations; GitHub has roughly one per twenty users."""
        return max(3, self.actors // 20)
