"""Synthetic hours as GH Archive files: ``<out_dir>/YYYY-MM-DD-H.json.gz``.

Files are written to a temporary name in the same folder and renamed into
place, so a reader (or a crashed run) never sees half an hour. The gzip
header carries a fixed name and mtime, which makes the file itself, not only
its content, a pure function of ``(hour, config)``.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ghlake.hours import Hour
from ghlake.synth.config import SynthConfig
from ghlake.synth.generator import iter_events

__all__ = ["SynthHourResult", "generate_hour", "write_hour"]

_FLUSH_BYTES = 1 << 20
# Level 3: a third of level 6's CPU cost, and on this text it lands on the real files'
# ratio (about 355 compressed bytes per 2015 event, as 2015-01-01-1 at gzip -9).
_COMPRESS_LEVEL = 3


@dataclass(frozen=True, slots=True)
class SynthHourResult:
    """What :func:`write_hour` produced."""

    hour: Hour
    path: Path
    events: int
    bytes_written: int
    type_counts: Mapping[str, int]


def generate_hour(hour: Hour, config: SynthConfig) -> Iterator[bytes]:
    """Yield the JSON lines (bytes, no trailing newline) of one synthetic hour.

    Deterministic for ``(hour, config)``: the same arguments give the same
    bytes in any process, so tests and benchmarks can regenerate an hour
    instead of storing it. Streams in constant memory.
    """
    for _, line in iter_events(hour, config):
        yield line


def write_hour(hour: Hour, out_dir: Path, config: SynthConfig) -> SynthHourResult:
    """Write ``out_dir/<hour.filename>`` as gzip NDJSON (newline after every line), atomically.

    The file appears under its final name only once complete (temp file, fsync,
    rename), matching how ghlake treats downloaded hours.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / hour.filename
    counts: Counter[str] = Counter()
    events = 0
    handle, temp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{hour.filename}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as raw:
            with gzip.GzipFile(
                filename=f"{hour.name}.json",
                mode="wb",
                fileobj=raw,
                compresslevel=_COMPRESS_LEVEL,
                mtime=int(hour.end.timestamp()),
            ) as packed:
                pending: list[bytes] = []
                size = 0
                for event_type, line in iter_events(hour, config):
                    pending.append(line)
                    size += len(line) + 1
                    counts[event_type] += 1
                    events += 1
                    if size >= _FLUSH_BYTES:
                        pending.append(b"")
                        packed.write(b"\n".join(pending))
                        pending.clear()
                        size = 0
                if pending:
                    pending.append(b"")
                    packed.write(b"\n".join(pending))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return SynthHourResult(
        hour=hour,
        path=final,
        events=events,
        bytes_written=final.stat().st_size,
        type_counts=MappingProxyType(dict(sorted(counts.items()))),
    )
