-- One repository's activity per day and event type over the days [since, until).
SELECT
    day,
    event_type,
    uniqExactMerge(events) AS events,
    uniqExactMerge(actors) AS actors
FROM repo_events_daily
WHERE repo_name = {repo:String} AND day >= {since:Date} AND day < {until:Date}
GROUP BY day, event_type
ORDER BY day, event_type
