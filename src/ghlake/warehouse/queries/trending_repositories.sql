-- Trending repositories: distinct stargazers in the recent window [until - recent_hours,
-- until) against the repository's own baseline (stars per day over the baseline_days
-- before the window), score = (credible stars per day + 1) / (baseline per day + 1).
--
-- Guard against bursts of stars from new accounts: a star is credible when its actor was
-- first seen at least min_account_age_days before the window, or did anything besides
-- starring (actor_first_seen). Other stars are reported (new_account_stars) but do not
-- score, so a farm of fresh star-only accounts cannot lift a repository.
WITH
    {until:DateTime('UTC')} AS t_end,
    t_end - toIntervalHour({recent_hours:UInt32}) AS t_recent,
    t_recent - toIntervalDay({baseline_days:UInt32}) AS t_base,
    t_recent - toIntervalDay({min_account_age_days:UInt32}) AS t_established
SELECT
    recent.repo_name AS repo_name,
    count() AS recent_stars,
    countIf(seen.first_seen > toDateTime(0) AND (seen.first_seen < t_established OR seen.other_events > 0))
        AS credible_stars,
    recent_stars - credible_stars AS new_account_stars,
    any(base.stars) / {baseline_days:UInt32} AS baseline_stars_per_day,
    round((credible_stars * 24 / {recent_hours:UInt32} + 1) / (baseline_stars_per_day + 1), 3) AS score
FROM
(
    SELECT DISTINCT repo_name, actor_login
    FROM github_events
    WHERE event_type = 'WatchEvent' AND actor_login != ''
      AND created_at >= t_recent AND created_at < t_end
) AS recent
LEFT JOIN
(
    SELECT actor_login, min(first_seen) AS first_seen, sum(other_events) AS other_events
    FROM actor_first_seen
    WHERE actor_login IN (
        SELECT actor_login FROM github_events
        WHERE event_type = 'WatchEvent' AND created_at >= t_recent AND created_at < t_end)
    GROUP BY actor_login
) AS seen ON seen.actor_login = recent.actor_login
LEFT JOIN
(
    SELECT repo_name, uniqExactMerge(actors) AS stars
    FROM repo_events_daily
    WHERE event_type = 'WatchEvent' AND day >= toDate(t_base) AND day < toDate(t_recent)
    GROUP BY repo_name
) AS base ON base.repo_name = recent.repo_name
GROUP BY recent.repo_name
HAVING credible_stars >= {min_stars:UInt32}
ORDER BY score DESC, credible_stars DESC, repo_name
LIMIT {limit:UInt32}
