-- Repositories by distinct stargazers since a day (ClickHouse's GitHub Events query, dated).
SELECT repo_name, uniqExact(actor_login) AS stars
FROM github_events
WHERE event_type = 'WatchEvent' AND created_at >= toDateTime(toDate({{since}}), 'UTC')
GROUP BY repo_name
ORDER BY stars DESC, repo_name
LIMIT 50
