-- One actor's events per day, type and repository in [since, until), deduplicated on
-- (event_key, created_at). The bloom filter index on actor_login skips other granules.
SELECT
    toString(toDate(created_at)) AS day,
    toString(event_type) AS event_type,
    repo_name,
    uniqExact(event_key, created_at) AS events
FROM github_events
WHERE actor_login = {actor:String}
  AND created_at >= {since:DateTime('UTC')} AND created_at < {until:DateTime('UTC')}
GROUP BY day, event_type, repo_name
ORDER BY day, event_type, events DESC, repo_name
LIMIT {limit:UInt32}
