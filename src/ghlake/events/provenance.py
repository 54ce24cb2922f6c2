"""Where an event came from: the provenance headers every message on the topic carries."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Provenance"]


@dataclass(frozen=True)
class Provenance:
    """Where a batch of lines came from; travels as message headers."""

    source: str  # "gharchive" or "live"
    hour: str  # GH Archive hour name, e.g. 2015-01-01-1
    file_time: str  # the hour's start, ISO 8601 UTC
