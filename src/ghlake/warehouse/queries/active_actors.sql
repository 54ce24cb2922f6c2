-- Distinct active actors (and events) per day over [since, until).
SELECT day, uniqExactMerge(actors) AS actors, uniqExactMerge(events) AS events
FROM actors_daily
WHERE day >= {since:Date} AND day < {until:Date}
GROUP BY day
ORDER BY day
