"""Dashboard query latency on generated rows: the warehouse's named queries against DuckDB.

The rows are generated inside ClickHouse (chDB, in this process, on a private path) by
one INSERT ... SELECT per chunk over numbers(): 30 days of January 2026, a realistic
type mix (about 55% pushes, 7% stars), repositories and actors drawn with a power-law
skew (u^3 over 2 M repositories, u^2 over 1 M actors), so a few repositories and
actors dominate as in GH Archive. github_events' materialized views fill the aggregate
tables as the rows land, exactly as when the Kafka engine writes them. The same rows
are then exported to Parquet (zstd) and DuckDB answers each dashboard question from
the events, as a lake query would. Medians of several runs, after one warm-up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ghlake.settings import Settings
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.migrations import migrate
from ghlake.warehouse.queries import (
    ACTIVE_ACTORS,
    ACTOR_ACTIVITY,
    EVENT_TYPE_COUNTS,
    REPOSITORY_ACTIVITY,
    TOP_REPOSITORIES,
    TRENDING_REPOSITORIES,
    named_query,
)

GENERATE = """
INSERT INTO ghlake.github_events
    (file_time, event_type, actor_login, repo_name, created_at, action, number, merged,
     event_id, actor_id, repo_id, event_key, source, source_hour)
SELECT
    toStartOfHour(at) AS file_time,
    CAST(multiIf(r < 0.55, 'PushEvent', r < 0.65, 'CreateEvent', r < 0.72, 'WatchEvent',
                 r < 0.80, 'IssueCommentEvent', r < 0.86, 'PullRequestEvent',
                 r < 0.89, 'IssuesEvent',
                 r < 0.92, 'ForkEvent', r < 0.94, 'DeleteEvent', r < 0.96, 'PullRequestReviewEvent',
                 r < 0.98, 'PullRequestReviewCommentEvent', 'ReleaseEvent') AS String)
        AS event_type,
    concat('user', toString(actor)) AS actor_login,
    concat('org', toString(repo % 40000), '/repo', toString(repo)) AS repo_name,
    at AS created_at,
    CAST(multiIf(event_type = 'PullRequestEvent', if(r2 < 0.55, 'opened', 'closed'),
                 event_type = 'WatchEvent', 'started', event_type = 'IssueCommentEvent', 'created',
                 'none') AS String) AS action,
    toUInt32(if(event_type IN ('PullRequestEvent', 'IssuesEvent', 'IssueCommentEvent'),
                1 + rand(3) % 5000, 0)) AS number,
    toUInt8(event_type = 'PullRequestEvent' AND action = 'closed' AND r2 < 0.85) AS merged,
    40000000000 + number AS event_id,
    actor + 1 AS actor_id,
    repo + 1 AS repo_id,
    event_id AS event_key,
    'generated' AS source,
    formatDateTime(at, '%Y-%m-%d-%k') AS source_hour
FROM
(
    SELECT
        number,
        toDateTime('2026-01-01 00:00:00', 'UTC') + intDiv(number * 2592000, {total}) AS at,
        randCanonical(1) AS r,
        randCanonical(2) AS r2,
        toUInt64(pow(randCanonical(4), 3) * 2000000) AS repo,
        toUInt64(pow(randCanonical(5), 2) * 1000000) AS actor
    FROM numbers({start}, {count})
)
"""

EXPORT = """
INSERT INTO FUNCTION file('{path}', 'Parquet')
SELECT toString(event_type) AS event_type, actor_login, repo_name, created_at,
       toString(action) AS action, number, merged, repo_id, event_key
FROM ghlake.github_events
SETTINGS output_format_parquet_compression_method = 'zstd'
"""

# The same questions, answered by DuckDB from the events in Parquet.
DUCKDB = {
    "event_type_counts": """
        SELECT event_type, count(DISTINCT event_key) AS events FROM ev
        WHERE created_at >= $since AND created_at < $until
        GROUP BY event_type ORDER BY events DESC""",
    "top_repositories_stars": """
        SELECT repo_name, count(DISTINCT actor_login) AS value FROM ev
        WHERE event_type = 'WatchEvent' AND created_at >= $since AND created_at < $until
        GROUP BY repo_name ORDER BY value DESC, repo_name LIMIT 10""",
    "top_repositories_pushes": """
        SELECT repo_name, count(DISTINCT event_key) AS value FROM ev
        WHERE event_type = 'PushEvent' AND created_at >= $since AND created_at < $until
        GROUP BY repo_name ORDER BY value DESC, repo_name LIMIT 10""",
    "top_repositories_pull_requests": """
        SELECT repo_name, count(DISTINCT number) FILTER (WHERE action = 'opened') AS value FROM ev
        WHERE event_type = 'PullRequestEvent' AND created_at >= $since AND created_at < $until
        GROUP BY repo_name ORDER BY value DESC, repo_name LIMIT 10""",
    "repository_activity": """
        SELECT CAST(created_at AS DATE) AS day, event_type, count(DISTINCT event_key) AS events,
               count(DISTINCT actor_login) AS actors FROM ev
        WHERE repo_name = $repo AND created_at >= $since AND created_at < $until
        GROUP BY ALL ORDER BY day, event_type""",
    "actor_activity": """
        SELECT CAST(created_at AS DATE) AS day, event_type, repo_name,
               count(DISTINCT event_key) AS events FROM ev
        WHERE actor_login = $actor AND created_at >= $since AND created_at < $until
        GROUP BY ALL ORDER BY day, event_type, events DESC, repo_name LIMIT 1000""",
    "active_actors": """
        SELECT CAST(created_at AS DATE) AS day, count(DISTINCT actor_login) AS actors,
               count(DISTINCT event_key) AS events FROM ev
        WHERE created_at >= $since AND created_at < $until GROUP BY day ORDER BY day""",
    "trending_repositories": """
        WITH recent AS (
            SELECT DISTINCT repo_name, actor_login FROM ev WHERE event_type = 'WatchEvent'
            AND created_at >= $until - INTERVAL 24 HOUR AND created_at < $until),
        seen AS (
            SELECT actor_login, min(created_at) AS first_seen,
                   count(*) FILTER (WHERE event_type <> 'WatchEvent') AS other_events
            FROM ev WHERE actor_login IN (SELECT actor_login FROM recent) GROUP BY actor_login),
        base AS (
            SELECT repo_name, count(DISTINCT actor_login) AS stars FROM ev
            WHERE event_type = 'WatchEvent' AND created_at >= $until - INTERVAL 29 DAY
              AND created_at < $until - INTERVAL 24 HOUR GROUP BY repo_name)
        SELECT r.repo_name, count(*) AS recent_stars,
               count(*) FILTER (WHERE s.first_seen < $until - INTERVAL 31 DAY OR s.other_events > 0)
                   AS credible, (credible + 1) / (coalesce(any_value(b.stars), 0) / 28 + 1) AS score
        FROM recent r LEFT JOIN seen s USING (actor_login) LEFT JOIN base b USING (repo_name)
        GROUP BY r.repo_name HAVING credible >= 5 ORDER BY score DESC, r.repo_name LIMIT 20""",
}


def _median_ms(run: Callable[[], object], rounds: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def generate(engine: ChdbEngine, settings: Settings, rows: int, chunk: int = 2_000_000) -> float:
    """Create the schema (no Kafka pipeline) and generate ``rows`` events; seconds taken."""
    migrate(engine, settings, with_pipeline=False)
    started = time.perf_counter()
    for start in range(0, rows, chunk):
        count = min(chunk, rows - start)
        engine.execute(GENERATE.format(total=rows, start=start, count=count))
    return time.perf_counter() - started


def _pick(engine: ChdbEngine, sql: str) -> str:
    return str(next(iter(engine.rows(sql)[0].values())))


def run_dashboards(workdir: Path, rows: int, rounds: int = 5) -> list[dict[str, Any]]:
    """Generate ``rows`` events, then time every dashboard query in chDB and in DuckDB."""
    settings = Settings(home=workdir)
    engine = ChdbEngine(workdir / "chdb")
    try:
        seconds = generate(engine, settings, rows)
        engine.execute("USE ghlake")
        print(f"generated {rows:,} events in {seconds:.1f}s ({rows / seconds:,.0f} rows/s)")
        parquet = workdir / "events.parquet"
        engine.execute(EXPORT.format(path=parquet))
        print(f"exported to Parquet: {parquet.stat().st_size / 1e6:,.0f} MB")
        repo = _pick(engine, "SELECT repo_name FROM github_events WHERE repo_id = 1 LIMIT 1")
        actor = _pick(engine, "SELECT actor_login FROM github_events WHERE actor_id = 1 LIMIT 1")
        since, until = datetime(2026, 1, 1), datetime(2026, 1, 31)
        d0, d1 = date(2026, 1, 1), date(2026, 1, 31)
        owner, _, name = repo.partition("/")
        calls = {
            "event_type_counts": EVENT_TYPE_COUNTS.bind(since=datetime(2026, 1, 24), until=until),
            "top_repositories_stars": TOP_REPOSITORIES.bind(metric="stars", since=d0, until=d1),
            "top_repositories_pushes": TOP_REPOSITORIES.bind(metric="pushes", since=d0, until=d1),
            "top_repositories_pull_requests": TOP_REPOSITORIES.bind(
                metric="pull_requests", since=d0, until=d1
            ),
            "repository_activity": REPOSITORY_ACTIVITY.bind(
                owner=owner, name=name, since=d0, until=d1
            ),
            "actor_activity": ACTOR_ACTIVITY.bind(login=actor, since=since, until=until),
            "active_actors": ACTIVE_ACTORS.bind(since=d0, until=d1),
            "trending_repositories": TRENDING_REPOSITORIES.bind(until=until),
        }
        duck = duckdb.connect()
        duck.execute("SET threads = 2")
        duck.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{parquet}')")
        params: dict[str, object] = {"since": since, "until": until, "repo": repo, "actor": actor}
        results = []
        for name, call in calls.items():
            sql = named_query(call.name)
            ch_ms = _median_ms(lambda sql=sql, call=call: engine.rows(sql, call.params), rounds)
            duck_sql = DUCKDB[name]
            bound = {k: v for k, v in params.items() if f"${k}" in duck_sql}
            if name == "event_type_counts":
                bound["since"] = datetime(2026, 1, 24)
            dk_ms = _median_ms(lambda q=duck_sql, b=bound: duck.execute(q, b).fetchall(), rounds)
            results.append({"query": name, "chdb_ms": ch_ms, "duckdb_ms": dk_ms})
        return results
    finally:
        engine.close()
