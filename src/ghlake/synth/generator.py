"""The event stream of one synthetic hour.

Generation is a single pass with O(1) state per event: ids and timestamps
come from a monotone "slot" sequence (with the occasional adjacent swap real
files show), the type from the era's mix, the repository and actor from the
skewed population, and the payload from the type's builder. Each hour has its
own random stream derived from ``(seed, hour)``, so hours can be generated in
any order, in parallel, and always come out byte-identical.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

import orjson

from ghlake.errors import InvalidInputError
from ghlake.hours import Hour
from ghlake.synth.config import SynthConfig
from ghlake.synth.context import Counters, HourContext
from ghlake.synth.eras import event_id_range, shape_for, type_mix
from ghlake.synth.payloads import BUILDERS, INSIDER_SHARE, Draft
from ghlake.synth.population import Population

__all__ = ["SWAP_RATE", "hour_rng", "iter_events"]

SWAP_RATE = 0.003
"""Share of adjacent event pairs written out of order (real hours: ~25 in 7,400 lines)."""

_BOT_TYPES = frozenset(
    {
        "PushEvent",
        "PullRequestEvent",
        "IssueCommentEvent",
        "CreateEvent",
        "DeleteEvent",
        "PullRequestReviewEvent",
    }
)
_BOT_SHARE = 0.06


def hour_rng(seed: int, hour: Hour, stream: str) -> random.Random:
    """An independent random stream for ``(seed, hour, stream)``.

    Hashing (rather than ``seed + hour``) keeps neighbouring seeds and hours
    uncorrelated, and is stable across Python versions and processes.
    """
    digest = hashlib.sha256(f"ghlake-synth/{seed}/{hour.name}/{stream}".encode()).digest()
    # A simulation stream, not a secret: the Mersenne Twister is the right tool.
    return random.Random(int.from_bytes(digest[:16], "big"))  # noqa: S311


def _slots(rng: random.Random, count: int, first_id: int, end_id: int) -> Iterator[tuple[int, int]]:
    """``(event id, second of the hour)`` pairs, ids strictly increasing inside ``[first, end)``."""
    span = end_id - first_id
    if count > span:
        raise InvalidInputError(
            f"{count} events do not fit in the {span} event ids GitHub issued that hour"
        )
    # Real hours: median id gap 2, 90th percentile 5-6 (other ids went to private events).
    mean_extra = max(0.0, min(2.0, span / max(count, 1) - 1.0))
    previous = first_id - 1
    scale = 3600 / max(count, 1)
    for index in range(count):
        extra = int(rng.expovariate(1.0) * mean_extra) if mean_extra else 0
        event_id = min(previous + 1 + extra, end_id - (count - index))
        previous = event_id
        yield event_id, min(3599, int((index + rng.random()) * scale))


def _swapped(rng: random.Random, slots: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The slots with a few adjacent pairs exchanged, as GH Archive's crawler writes them."""
    for slot in slots:
        if rng.random() < SWAP_RATE:
            following = next(slots, None)
            if following is not None:
                yield following
        yield slot


def iter_events(hour: Hour, config: SynthConfig) -> Iterator[tuple[str, bytes]]:
    """``(event type, JSON line)`` for every event of the hour, in file order."""
    shape = shape_for(hour)
    mix = type_mix(hour)
    first_id, end_id = event_id_range(hour, config.events_per_hour)
    start = int(hour.start.timestamp())
    rng = hour_rng(config.seed, hour, "events")
    slot_rng = hour_rng(config.seed, hour, "slots")
    pop = Population(config)
    ctx = HourContext(rng, pop, shape, start, Counters(start, rng, config.events_per_hour, mix))
    # One row per type, indexed by the bisect of a uniform draw into the cumulative mix.
    kinds = tuple(
        (name, BUILDERS[name], INSIDER_SHARE[name], bool(ctx.bots) and name in _BOT_TYPES)
        for name in mix
    )
    cumulative = tuple(accumulate(mix.values()))
    last = len(kinds) - 1
    prefix = hour.start.strftime("%Y-%m-%dT%H:")
    objs = ctx.objs
    bots = ctx.bots
    dumps = orjson.dumps
    rand = rng.random
    slots = _swapped(slot_rng, _slots(slot_rng, config.events_per_hour, first_id, end_id))
    for event_id, second in slots:
        ctx.at = start + second
        event_type, build, insider_share, bot_ok = kinds[
            min(bisect_right(cumulative, rand()), last)
        ]
        repo = pop.sample_repo(rng)
        insider = rand() < insider_share
        if insider:
            actor = pop.contributor(repo, rng)
        else:
            actor = pop.sample_actor(rng)
            if actor.id == repo.owner.id:  # nobody stars or forks their own repository
                actor = pop.sample_actor(rng)
        if bot_ok and rand() < _BOT_SHARE:
            actor = bots[int(rand() * len(bots))]
        draft = Draft(repo, actor, insider)
        payload = build(ctx, draft)
        repo = draft.repo
        minute, sec = divmod(second, 60)
        event = {
            "id": str(event_id),
            "type": event_type,
            "actor": objs.actor_ref(draft.actor),
            "repo": objs.repo_ref(repo),
            "payload": payload,
            "public": True,
            "created_at": f"{prefix}{minute:02d}:{sec:02d}Z",
        }
        if repo.org is not None:
            event["org"] = objs.org_ref(repo.org)
        yield event_type, dumps(event)
