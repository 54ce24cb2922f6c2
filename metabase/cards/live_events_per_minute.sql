-- Events per minute by type over the last {{minutes}} minutes (the live series).
SELECT minute, event_type, uniqExactMerge(events) AS events
FROM events_per_minute
WHERE minute >= toStartOfMinute(now() - toIntervalMinute({{minutes}}))
GROUP BY minute, event_type
ORDER BY minute, event_type
