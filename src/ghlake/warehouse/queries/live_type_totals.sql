-- Rows received per event type, as stored (not deduplicated): the live page differences
-- two of these a second apart into events per second, cheaply (no aggregate states).
SELECT event_type, count() AS events
FROM github_events
GROUP BY event_type
ORDER BY event_type
