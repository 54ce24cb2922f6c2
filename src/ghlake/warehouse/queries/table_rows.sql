-- Row counts of the warehouse tables (parts on disk, before deduplication), for health
-- and metrics.
SELECT
    (SELECT count() FROM github_events) AS github_events,
    (SELECT count() FROM ingest_errors) AS ingest_errors,
    (SELECT count() FROM events_per_minute) AS events_per_minute,
    (SELECT count() FROM repo_events_daily) AS repo_events_daily,
    (SELECT count() FROM actors_daily) AS actors_daily,
    (SELECT count() FROM pull_requests_daily) AS pull_requests_daily,
    (SELECT count() FROM actor_first_seen) AS actor_first_seen,
    (SELECT count() FROM dead_letters) AS dead_letters,
    (SELECT count() FROM hour_stages) AS hour_stages
