-- Who is active in one repository.
SELECT actor_login, count() AS events, min(created_at) AS first_seen, max(created_at) AS last_seen
FROM github_events
WHERE repo_name = {{repo}}
GROUP BY actor_login
ORDER BY events DESC, actor_login
LIMIT 50
