"""Count the lake's events per source hour with DuckDB's delta extension (run in its venv).

    <duckdb-venv>/bin/python minio/duckdb/count.py  (arguments as JSON on stdin:
    {"endpoint": "host:port", "key": ..., "secret": ..., "table": "s3://bucket/table",
     "hours": ["2015-01-01-1", ...]})

Prints {"hour": [events, distinct (event_key, created_at)], ...} as JSON. The extensions
load from the duckdb-ext-* packages installed beside DuckDB (no download at run time).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb


def _extension(name: str) -> str:
    version = duckdb.__version__
    found = sorted(Path(sys.prefix).glob(f"lib/python3*/site-packages/duckdb_ext/extensions/"
                                         f"v{version}/*/{name}.duckdb_extension"))  # fmt: skip
    if not found:
        raise SystemExit(f"the {name} extension for DuckDB {version} is not installed")
    return str(found[0])


def main() -> None:
    """Read the arguments, count, print."""
    args = json.load(sys.stdin)
    con = duckdb.connect()
    for name in ("httpfs", "delta"):
        con.execute(f"LOAD '{_extension(name)}'")
    con.execute(
        "CREATE SECRET lake (TYPE S3, KEY_ID ?, SECRET ?, ENDPOINT ?, URL_STYLE 'path', "
        "USE_SSL false, REGION 'us-east-1')",
        [args["key"], args["secret"], args["endpoint"]],
    )
    rows = con.execute(
        "SELECT source_hour, count(*), count(DISTINCT (event_key, created_at)) "
        "FROM delta_scan(?) WHERE list_contains(?, source_hour) GROUP BY source_hour",
        [args["table"], args["hours"]],
    ).fetchall()
    print(json.dumps({hour: [count, distinct] for hour, count, distinct in rows}))


if __name__ == "__main__":
    main()
