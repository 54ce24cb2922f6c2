-- The live dashboard's series: events per minute and type in [since, until).
SELECT minute, event_type, uniqExactMerge(events) AS events
FROM events_per_minute
WHERE minute >= toStartOfMinute({since:DateTime('UTC')}) AND minute < {until:DateTime('UTC')}
GROUP BY minute, event_type
ORDER BY minute, event_type
