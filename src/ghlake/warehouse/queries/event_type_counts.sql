-- Events per type in [since, until), deduplicated, from the per-minute aggregate.
SELECT event_type, uniqExactMerge(events) AS events
FROM events_per_minute
WHERE minute >= toStartOfMinute({since:DateTime('UTC')}) AND minute < {until:DateTime('UTC')}
GROUP BY event_type
ORDER BY events DESC, event_type
