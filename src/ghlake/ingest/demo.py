"""The main job: stream GH Archive hours end to end and reconcile the counts.

Online, it downloads real hours from the configured GH Archive mirror; when
the mirror cannot be reached (no network), it generates realistic hours
locally. Either way the hours go through Kafka into the lake and the
warehouse, and the job ends with the counts of each stage side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from ghlake.hours import Hour, hour_range
from ghlake.synth import SynthConfig, write_hour

__all__ = ["SourcePlan", "plan_source"]

# Real hours the online run downloads: a modest, well-known pair (about 15k events).
ONLINE_HOURS = ("2015-01-01-15", "2015-01-01-16")
# Modern hours for the offline run, after GitHub's 2025 payload cut.
OFFLINE_HOURS = ("2026-01-15-12", "2026-01-15-13")


@dataclass(frozen=True)
class SourcePlan:
    """Where the main job's hours come from."""

    location: str
    hours: tuple[Hour, ...]
    origin: str  # "mirror", "generated" or "given"


def mirror_reachable(base_url: str, hour: Hour, timeout: float = 5.0) -> bool:
    """Whether the mirror answers for ``hour`` (a HEAD request, nothing downloaded)."""
    try:
        response = httpx.head(f"{base_url.rstrip('/')}/{hour.filename}", timeout=timeout,
                              follow_redirects=True)  # fmt: skip
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def plan_source(
    state_dir: Path,
    mirror: str,
    events_per_hour: int = 20_000,
    offline: bool = False,
) -> SourcePlan:
    """Real hours from ``mirror`` (GHLAKE_REPLAY__MIRROR) when it answers, else generated ones."""
    online = tuple(Hour.parse(h) for h in ONLINE_HOURS)
    if not offline and mirror_reachable(mirror, online[0]):
        return SourcePlan(mirror, online, "mirror")
    first, last = (Hour.parse(h) for h in OFFLINE_HOURS)
    hours = tuple(hour_range(first, last))
    folder = state_dir / "synth"
    config = SynthConfig(events_per_hour=events_per_hour, seed=2026)
    for hour in hours:
        if not (folder / hour.filename).is_file():
            write_hour(hour, folder, config)
    return SourcePlan(str(folder), hours, "generated")
