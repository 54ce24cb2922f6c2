-- Top repositories by pull requests opened over the days [since, until), with merges.
SELECT
    repo_name,
    toUInt64(0) AS repo_id,
    uniqExactMerge(prs_opened) AS value,
    uniqExactMerge(prs_merged) AS merged
FROM pull_requests_daily
WHERE day >= {since:Date} AND day < {until:Date}
GROUP BY repo_name
ORDER BY value DESC, repo_name
LIMIT {limit:UInt32}
