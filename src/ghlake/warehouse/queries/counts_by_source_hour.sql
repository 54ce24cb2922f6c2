-- Events per GH Archive source hour, deduplicated on identity.
SELECT source_hour, count() AS events
FROM github_events FINAL
WHERE source_hour IN {hours:Array(String)}
GROUP BY source_hour
ORDER BY source_hour
