-- Repositories by forks since a day.
SELECT repo_name, count() AS forks
FROM github_events
WHERE event_type = 'ForkEvent' AND created_at >= toDateTime(toDate({{since}}), 'UTC')
GROUP BY repo_name
ORDER BY forks DESC, repo_name
LIMIT 50
