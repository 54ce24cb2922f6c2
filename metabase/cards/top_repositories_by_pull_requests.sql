-- Repositories by pull requests opened since a day, with how many of them were merged
-- (the pull_requests_daily aggregate, which counts each pull request once).
SELECT
    repo_name,
    uniqExactMerge(prs_opened) AS opened,
    uniqExactMerge(prs_merged) AS merged
FROM pull_requests_daily
WHERE day >= toDate({{since}})
GROUP BY repo_name
ORDER BY opened DESC, repo_name
LIMIT 50
