-- Top repositories by one event type over the days [since, until): stars count distinct
-- stargazers (actors of WatchEvent), forks and pushes count events.
SELECT
    repo_name,
    max(repo_id) AS repo_id,
    if({count_actors:UInt8} = 1, uniqExactMerge(actors), uniqExactMerge(events)) AS value
FROM repo_events_daily
WHERE event_type = {event_type:String} AND day >= {since:Date} AND day < {until:Date}
GROUP BY repo_name
ORDER BY value DESC, repo_name
LIMIT {limit:UInt32}
