-- Repositories by pushes since a day.
SELECT repo_name, count() AS pushes
FROM github_events
WHERE event_type = 'PushEvent' AND created_at >= toDateTime(toDate({{since}}), 'UTC')
GROUP BY repo_name
ORDER BY pushes DESC, repo_name
LIMIT 50
