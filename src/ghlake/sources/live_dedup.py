"""Which live events were already seen: identity ``(id, created_at)`` in bounded memory.

GitHub's public feed is a rolling window: ``/events`` shows at most the 300
most recent events (3 pages of 100), so consecutive polls overlap and every
event is offered several times. Remembering a fixed number of keys is enough:

* a poll reads at most ``pages * per_page`` = 300 events, and each one it
  reads is refreshed to most-recent (LRU). Between an event's refresh in one
  poll and its reading in the next, at most two polls of other keys are
  touched, so a capacity of ``2 * pages * per_page`` (600) never forgets an
  event that is still on a page being read (the poller refuses less);
* the default capacity of 100,000 keys covers more than 330 polls of a feed
  that changed completely each time (hours of polling at GitHub's 60 s
  interval), while an event leaves the feed within minutes;
* an event that slipped past anyway (a page left unchanged for hours, then
  shown again) is caught downstream: the warehouse deduplicates on identity.

A key is the project's event identity, :class:`EventIdentity` (see
:mod:`ghlake.events.identity`): the event id and ``created_at`` in UTC,
because GitHub reuses ids (ids issued since 2026-08 collide with 2020 ids).
An item without that identity is keyed by cityHash64 of its bytes
(:meth:`EventIdentity.of_event`), so a malformed item is offered once (and
dead-lettered by the publisher), not on every poll. 100,000 keys take about
23 MB (measured with tracemalloc: 233 bytes a key, 120 of them the key's
tuple and two ints, the rest the ordered dict's own).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from ghlake.errors import ConfigError
from ghlake.events.identity import EventIdentity

__all__ = ["DEFAULT_CAPACITY", "SeenEvents"]

DEFAULT_CAPACITY = 100_000


class SeenEvents:
    """A least-recently-seen set of event keys holding at most ``capacity`` keys."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ConfigError(f"the live dedup capacity must be at least 1, not {capacity}")
        self._capacity = capacity
        self._keys: OrderedDict[EventIdentity, None] = OrderedDict()
        self._evicted = 0

    @property
    def capacity(self) -> int:
        """The most keys held at once."""
        return self._capacity

    @property
    def evicted(self) -> int:
        """Keys forgotten so far to stay within the capacity."""
        return self._evicted

    def add(self, key: EventIdentity) -> bool:
        """Remember ``key``; True when it was not known (the event is new)."""
        if key in self._keys:
            # Seen again: the event is still in the feed, so keep it the longest.
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
            self._evicted += 1
        return True

    def discard(self, keys: Iterable[EventIdentity]) -> None:
        """Forget ``keys`` (events that must be offered again, e.g. after a failed publish)."""
        for key in keys:
            self._keys.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
