"""Synthetic GH Archive hours: realistic, deterministic, streamed.

Produces hour files in the modern Events-API shape (2015 onwards) whose type
mix, payload shapes, id ranges, key order and popularity skew follow the real
archive era by era, including the 2025-10-07 payload cut. Used to load-test
the pipeline and to give tests whole hours without shipping real data.

Usage::

    from ghlake.hours import Hour
    from ghlake.synth import SynthConfig, write_hour

    result = write_hour(Hour.parse("2015-01-01-1"), Path("lake/raw"), SynthConfig(seed=7))
"""

from __future__ import annotations

from ghlake.synth.config import SynthConfig
from ghlake.synth.hourfile import SynthHourResult, generate_hour, write_hour

__all__ = ["SynthConfig", "SynthHourResult", "generate_hour", "write_hour"]
