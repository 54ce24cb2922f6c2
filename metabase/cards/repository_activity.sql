-- One repository's events and actors per day and type.
SELECT toDate(created_at) AS day, event_type, count() AS events, uniqExact(actor_login) AS actors
FROM github_events
WHERE repo_name = {{repo}}
GROUP BY day, event_type
ORDER BY day, event_type
