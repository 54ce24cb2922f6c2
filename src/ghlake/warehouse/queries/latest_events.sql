-- The most recent events (by their time on GitHub), for the live page's ticker.
SELECT event_type, repo_name, actor_login, toString(created_at) AS created_at
FROM github_events
ORDER BY created_at DESC
LIMIT {limit:UInt32}
