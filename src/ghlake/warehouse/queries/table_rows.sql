-- Row counts of the warehouse tables, for health and metrics.
SELECT
    (SELECT count() FROM github_events) AS github_events,
    (SELECT count() FROM ingest_errors) AS ingest_errors
