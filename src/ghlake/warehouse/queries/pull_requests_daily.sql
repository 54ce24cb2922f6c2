-- Pull requests opened / merged / closed unmerged per day over [since, until), for one
-- repository or (repo = '') all of them: distinct numbers per repository, summed.
-- Merges read 0 before spring 2012 (no merged flag in the early archive).
SELECT
    day,
    sum(opened) AS opened,
    sum(merged) AS merged,
    sum(closed_unmerged) AS closed_unmerged
FROM
(
    SELECT
        day,
        repo_name,
        uniqExactMerge(prs_opened) AS opened,
        uniqExactMerge(prs_merged) AS merged,
        uniqExactMerge(prs_closed_unmerged) AS closed_unmerged
    FROM pull_requests_daily
    WHERE day >= {since:Date} AND day < {until:Date}
      AND ({repo:String} = '' OR repo_name = {repo:String})
    GROUP BY day, repo_name
)
GROUP BY day
ORDER BY day
