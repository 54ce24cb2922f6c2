"""The warehouse's mapping alone: the Kafka engine's two views over the same messages in chDB.

Every message the Kafka engine reads goes through both views of clickhouse/pipeline/:
20_events_mv.sql (the event's github_events row, for messages that are events) and
30_errors_mv.sql (the ingest_errors row, for those that are not). This bench runs their
SELECTs, as rendered by ghlake.warehouse.ddl, over one in-memory table that has the Kafka
engine's columns (message, _headers, _error, _partition, _offset ...), filled with:

- every line of the real hours and extracts in ../shared/data/gharchive (all eras,
  2011-2023), plus two generated hours (2020, and 2026 with trimmed payloads);
- a few messages that are not events (not JSON, an array, no type, an unknown type,
  a bad created_at), so both views have work.

The same SELECTs of the baseline (the pipeline at :data:`BASELINE_COMMIT`, read with
``git show``) run in the same session over the same table, alternating, ``--repeat``
times each; the best run of each counts. It prints events per CPU second of each (CPU
time of this process, which holds chDB: the cores are shared) and the ratio
new / baseline, and checks that both produce the same rows, column by column (a
difference is printed with its message and fails the run).

``--profile`` also prints the best time of each view (events, errors) of each mapping,
and the pipeline (EXPLAIN PIPELINE) of the current events view. (Embedded chDB keeps no
system.query_log.)

    .venv/bin/python bench/warehouse_mapping.py [--events 200000] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from string import Template

import pyarrow as pa
from chdb import session as chs

from ghlake.events.schema import EVENT_TYPES
from ghlake.hours import Hour
from ghlake.synth import SynthConfig, write_hour

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "gharchive"
# The pipeline before the view parsed each message once (one JSONExtract* call per field).
BASELINE_COMMIT = "5702bb9"
GENERATED = ("2020-06-01-10", "2026-03-01-5")
NOT_EVENTS = (
    b"not json at all",
    b"[1, 2, 3]",
    b'{"payload": {}}',
    b'{"type": "NoSuchEvent", "created_at": "2026-01-01T00:00:00Z"}',
    b'{"type": "PushEvent", "created_at": "yesterday"}',
    b'{"type": "PushEvent", "created_at": "2026-01-01T00:00:00Z", "payload": [1]}',
)
TABLE = "bench.messages"


def _pipeline_files(commit: str | None) -> dict[str, str]:
    """File name -> text of clickhouse/pipeline/ in the work tree or at ``commit``."""
    folder = "clickhouse/pipeline"
    if commit is None:
        return {p.name: p.read_text() for p in sorted((ROOT / folder).glob("*.sql"))}
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", commit, f"{folder}/"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {
        Path(name).name: subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:{name}"],
            capture_output=True, text=True, check=True,
        ).stdout
        for name in sorted(names)
        if name.endswith(".sql")
    }  # fmt: skip


def view_selects(commit: str | None) -> dict[str, str]:
    """The events view's and the errors view's SELECT over the bench table, at ``commit``.

    Rendered as ghlake.warehouse.ddl.render_pipeline does: fragments (``_*.sql``, in name
    order) become values, comment lines dropped."""
    files = _pipeline_files(commit)
    values = {
        "database": "bench",
        "known_types": ", ".join(f"'{name}'" for name in EVENT_TYPES),
    }
    for name, text in files.items():
        if name.startswith("_"):
            code = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
            values[name[1:-4]] = Template(code.strip()).substitute(values)
    selects = {}
    for name, view in (("20_events_mv.sql", "events"), ("30_errors_mv.sql", "errors")):
        text = Template(files[name]).safe_substitute(values)
        body = text.split(" AS\n", 1)[1].strip().rstrip(";")
        selects[view] = body.replace("bench.events_queue", TABLE)
    return selects


def messages(limit: int, workdir: Path) -> list[tuple[bytes, str]]:
    """(line, hour) of every era, cycled to ``limit`` lines, and the non-events."""
    files = sorted(DATA.glob("*.json.gz")) + sorted(DATA.glob("*.ndjson.gz"))
    for name in GENERATED:
        write_hour(Hour.parse(name), workdir, SynthConfig(events_per_hour=20_000, seed=3))
        files.append(workdir / f"{name}.json.gz")
    per_file: list[list[tuple[bytes, str]]] = []
    for path in files:
        with gzip.open(path, "rb") as handle:
            name = path.name.split(".")[0]
            per_file.append([(line.rstrip(b"\n"), name) for line in handle if line.strip()])
    out: list[tuple[bytes, str]] = [(m, "bench-bad") for m in NOT_EVENTS]
    # Round robin over the files so that every era is in any prefix.
    index = 0
    while len(out) < limit:
        for lines in per_file:
            if index < len(lines):
                out.append(lines[index])
        index += 1
        if index > max(len(lines) for lines in per_file):
            index = 0
    return out[:limit]


def load(sess: chs.Session, rows: list[tuple[bytes, str]]) -> None:
    """The bench table: the Kafka engine's columns, as the views read them."""
    sess.query("CREATE DATABASE IF NOT EXISTS bench")
    sess.query(f"DROP TABLE IF EXISTS {TABLE}")
    sess.query(
        f"CREATE TABLE {TABLE} (message String, _topic String, _key Nullable(String),"
        " _partition UInt64, _offset UInt64, `_headers.name` Array(String),"
        " `_headers.value` Array(String), _error String, _raw_message String)"
        " ENGINE = Memory"
    )
    names = ["source", "hour", "line", "file_time"]
    # chDB's Python() table function reads this local variable by its name.
    table = pa.table({  # noqa: F841
        "message": pa.array([m for m, _ in rows], pa.binary()),
        "_topic": ["bench"] * len(rows),
        "_key": [None] * len(rows),
        "_partition": pa.array([i % 3 for i in range(len(rows))], pa.uint64()),
        "_offset": pa.array(range(len(rows)), pa.uint64()),
        "_headers.name": [names] * len(rows),
        "_headers.value": [
            ["gharchive", hour, str(i), "2026-03-01 05:10:00"] for i, (_, hour) in enumerate(rows)
        ],
        "_error": [""] * len(rows),
        "_raw_message": [""] * len(rows),
    })  # fmt: skip
    sess.query(f"INSERT INTO {TABLE} SELECT * FROM Python(table)")
    got = int(sess.query(f"SELECT count() FROM {TABLE}", "CSV").data())
    if got != len(rows):
        sys.exit(f"loaded {got} of {len(rows)} messages")


def timed(sess: chs.Session, sql: str) -> float:
    """CPU seconds of this process (chDB's threads included) for one run of ``sql``, its
    result discarded (every column computed). CPU time, not wall time: other sessions
    share the cores, and wall time mostly measures them."""
    started = time.process_time()
    sess.query(f"SELECT * FROM ({sql}) FORMAT Null")
    return time.process_time() - started


def compare(sess: chs.Session, old: dict[str, str], new: dict[str, str]) -> int:
    """Rows that differ between the baseline's and the current views (printed); 0 if none."""
    bad = 0
    for view in ("events", "errors"):
        order = "ORDER BY kafka_offset"
        a = sess.query(f"SELECT * FROM ({old[view]}) {order}", "ArrowTable")
        b = sess.query(f"SELECT * FROM ({new[view]}) {order}", "ArrowTable")
        if view == "errors":  # received_at is now()
            a, b = a.drop(["received_at"]), b.drop(["received_at"])
        if a.column_names != b.column_names or a.num_rows != b.num_rows:
            print(f"{view}: columns or rows differ: {a.shape} {b.shape}")
            bad += 1
            continue
        for column in a.column_names:
            if a.column(column).equals(b.column(column)):
                continue
            left, right = a.column(column).to_pylist(), b.column(column).to_pylist()
            diffs = [i for i, (x, y) in enumerate(zip(left, right, strict=True)) if x != y]
            bad += len(diffs)
            offset = a.column("kafka_offset")[diffs[0]].as_py()
            message = sess.query(
                f"SELECT message FROM {TABLE} WHERE _offset = {offset}", "TabSeparatedRaw"
            ).data()
            print(f"{view}.{column}: {len(diffs)} rows differ, e.g. offset {offset}: "
                  f"{left[diffs[0]]!r} != {right[diffs[0]]!r}\n  {message[:600]}")  # fmt: skip
    return bad


def profile(sess: chs.Session, new: dict[str, str], times: dict[str, list[float]]) -> None:
    """Seconds per view (best run), and the events view's pipeline."""
    print("best CPU seconds per view:")
    for tag, runs in sorted(times.items()):
        print(f"  {tag:<28}{min(runs):8.3f}")
    pipeline = sess.query(f"EXPLAIN PIPELINE {new['events']}", "TabSeparatedRaw").data()
    print("EXPLAIN PIPELINE (events view):")
    print(pipeline)


def main() -> None:
    """Time both mappings over the same messages and check they agree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="git revision to compare")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    old, new = view_selects(args.baseline), view_selects(None)
    with tempfile.TemporaryDirectory(prefix="ghlake-mapping-") as tmp:
        rows = messages(args.events, Path(tmp))
        sess = chs.Session(str(Path(tmp) / "chdb"))
        load(sess, rows)
        bad = compare(sess, old, new)
        best: dict[str, list[float]] = {"baseline": [], "current": []}
        per_view: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for label, selects in (("baseline", old), ("current", new)):
                total = 0.0
                for view, sql in selects.items():
                    seconds = timed(sess, sql)
                    per_view.setdefault(f"{label} {view}", []).append(seconds)
                    total += seconds
                best[label].append(total)
        if args.profile:
            profile(sess, new, per_view)
        sess.close()
    rates = {label: len(rows) / min(times) for label, times in best.items()}
    print(f"{len(rows):,} messages, both views, best of {args.repeat}:")
    for label, rate in rates.items():
        print(f"  {label:<9} {rate:>12,.0f} events per CPU second")
    print(f"ratio current / baseline: {rates['current'] / rates['baseline']:.2f}")
    print(f"rows that differ: {bad}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
