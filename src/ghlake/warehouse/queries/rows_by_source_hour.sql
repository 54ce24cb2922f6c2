-- Rows stored per GH Archive source hour, before deduplication: an upper bound of
-- counts_by_source_hour that reads one column, for polling while ingest runs.
SELECT source_hour, count() AS events
FROM github_events
WHERE source_hour IN {hours:Array(String)}
GROUP BY source_hour
ORDER BY source_hour
