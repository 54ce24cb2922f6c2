-- The normalizer: every era's JSON line into one github_events row.
--
-- Eras (../shared/reference/gharchive-facts.md):
--   early archive 2011-2012  Events-API-like; PushEvent carries shas, some actors have no login;
--   Timeline 2012-2014       actor is a login string (null for anonymous gists), the repository is
--                            repository{owner, name, id, organization}, no event id, created_at
--                            with a -07:00/-08:00 offset, comment/issue references as bare ids;
--   Events API 2015+         actor/repo/org objects, string ids, 'Z' timestamps;
--   trimmed since 2025-10-07 PushEvent without commits/size, a minimal pull_request, no
--                            author_association, and a merge is its own action ('merged').
-- A field that an era does not carry reads as the column's "absent" value ('' / 0 / 1970).
-- Each nested object is cut out of the line once (the WITH aliases), then read from.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.events_queue_mv
TO ${database}.github_events AS
WITH
    JSONExtractString(message, 'type') AS type_name,
    JSONExtractRaw(message, 'payload') AS p,
    JSONExtractRaw(p, 'pull_request') AS pr,
    JSONExtractRaw(p, 'issue') AS iss,
    JSONExtractRaw(p, 'comment') AS cmt,
    JSONExtractRaw(p, 'review') AS rvw,
    JSONExtractRaw(p, 'release') AS rel,
    JSONExtractRaw(message, 'repository') AS timeline_repo,
    if(JSONExtractString(timeline_repo, 'owner') != '', JSONExtractString(timeline_repo, 'owner'),
       JSONExtractString(timeline_repo, 'organization')) AS timeline_owner,
    JSONExtract(message, 'id', 'UInt64') AS github_id,
    if(JSONType(p, 'action') = 'String', JSONExtractString(p, 'action'),
       if(type_name = 'GollumEvent', JSONExtractString(p, 'pages', 1, 'action'), '')) AS raw_action,
    arrayFirst(s -> s != '', [
        JSONExtractString(rvw, 'author_association'), JSONExtractString(cmt, 'author_association'),
        JSONExtractString(iss, 'author_association'), JSONExtractString(pr, 'author_association')
    ]) AS association,
    if(JSONType(iss) = 'Object', iss, '') AS issue_obj,
    arrayFirst(s -> s != '', [JSONExtractString(iss, 'state'), JSONExtractString(pr, 'state')]) AS raw_state,
    JSONExtractString(p, 'ref_type') AS raw_ref_type,
    JSONExtractString(pr, 'mergeable_state') AS raw_mergeable_state,
    JSONExtractString(rvw, 'state') AS raw_review_state,
    arrayMap(x -> JSONExtractString(x, 'name'), JSONExtractArrayRaw(iss, 'labels')) AS issue_labels,
    arrayMap(x -> JSONExtractString(x, 'login'), JSONExtractArrayRaw(iss, 'assignees')) AS issue_assignees
SELECT
    parseDateTimeBestEffortOrZero(arrayElement(_headers.value, indexOf(_headers.name, 'file_time')), 'UTC') AS file_time,
    CAST(type_name, 'Enum8(''CommitCommentEvent'' = 1, ''CreateEvent'' = 2, ''DeleteEvent'' = 3, ''ForkEvent'' = 4, ''GollumEvent'' = 5, ''IssueCommentEvent'' = 6, ''IssuesEvent'' = 7, ''MemberEvent'' = 8, ''PublicEvent'' = 9, ''PullRequestEvent'' = 10, ''PullRequestReviewCommentEvent'' = 11, ''PushEvent'' = 12, ''ReleaseEvent'' = 13, ''SponsorshipEvent'' = 14, ''WatchEvent'' = 15, ''GistEvent'' = 16, ''FollowEvent'' = 17, ''DownloadEvent'' = 18, ''PullRequestReviewEvent'' = 19, ''ForkApplyEvent'' = 20, ''Event'' = 21, ''TeamAddEvent'' = 22)') AS event_type,
    multiIf(
        JSONType(message, 'actor') = 'Object', JSONExtractString(message, 'actor', 'login'),
        JSONType(message, 'actor') = 'String', JSONExtractString(message, 'actor'),
        JSONExtractString(message, 'actor_attributes', 'login')) AS actor_login,
    if(JSONType(message, 'repo') = 'Object',
        JSONExtractString(message, 'repo', 'name'),
        -- an organization's repository may carry owner '': the organization owns it
        if(timeline_owner != '' AND JSONExtractString(timeline_repo, 'name') != '',
           concat(timeline_owner, '/', JSONExtractString(timeline_repo, 'name')),
           JSONExtractString(timeline_repo, 'name'))) AS repo_name,
    parseDateTimeBestEffortOrZero(JSONExtractString(message, 'created_at'), 'UTC') AS created_at,
    parseDateTimeBestEffortOrZero(arrayFirst(s -> s != '', [
        JSONExtractString(cmt, 'updated_at'), JSONExtractString(rvw, 'submitted_at'),
        JSONExtractString(pr, 'updated_at'), JSONExtractString(iss, 'updated_at')]), 'UTC') AS updated_at,
    CAST(if(raw_action IN ('created', 'added', 'edited', 'deleted', 'opened', 'closed', 'reopened',
                           'assigned', 'unassigned', 'labeled', 'unlabeled', 'review_requested',
                           'review_request_removed', 'synchronize', 'started', 'published',
                           'update', 'create', 'fork', 'merged'), raw_action, 'none'),
         'Enum8(''none'' = 0, ''created'' = 1, ''added'' = 2, ''edited'' = 3, ''deleted'' = 4, ''opened'' = 5, ''closed'' = 6, ''reopened'' = 7, ''assigned'' = 8, ''unassigned'' = 9, ''labeled'' = 10, ''unlabeled'' = 11, ''review_requested'' = 12, ''review_request_removed'' = 13, ''synchronize'' = 14, ''started'' = 15, ''published'' = 16, ''update'' = 17, ''create'' = 18, ''fork'' = 19, ''merged'' = 20)') AS action,
    if(JSONType(cmt) = 'Object', JSONExtract(cmt, 'id', 'UInt64'), JSONExtract(p, 'comment_id', 'UInt64')) AS comment_id,
    arrayFirst(s -> s != '', [
        JSONExtractString(rvw, 'body'), JSONExtractString(cmt, 'body'), JSONExtractString(iss, 'body'),
        JSONExtractString(pr, 'body'), JSONExtractString(rel, 'body')]) AS body,
    JSONExtractString(cmt, 'path') AS path,
    JSONExtractInt(cmt, 'position') AS position,
    JSONExtractInt(cmt, 'line') AS line,
    JSONExtractString(p, 'ref') AS ref,
    CAST(multiIf(raw_ref_type = '', 'none', raw_ref_type IN ('branch', 'tag', 'repository'), raw_ref_type, 'unknown'),
         'Enum8(''none'' = 0, ''branch'' = 1, ''tag'' = 2, ''repository'' = 3, ''unknown'' = 4)') AS ref_type,
    arrayFirst(s -> s != '', [
        JSONExtractString(cmt, 'user', 'login'), JSONExtractString(rvw, 'user', 'login'),
        JSONExtractString(iss, 'user', 'login'), JSONExtractString(pr, 'user', 'login'),
        JSONExtractString(rel, 'author', 'login')]) AS creator_user_login,
    toUInt32(arrayFirst(n -> n != 0, [
        JSONExtractUInt(issue_obj, 'number'), JSONExtractUInt(pr, 'number'), JSONExtractUInt(p, 'number')])) AS number,
    arrayFirst(s -> s != '', [JSONExtractString(iss, 'title'), JSONExtractString(pr, 'title')]) AS title,
    if(notEmpty(issue_labels), issue_labels,
       arrayMap(x -> JSONExtractString(x, 'name'), JSONExtractArrayRaw(pr, 'labels'))) AS labels,
    CAST(if(raw_state IN ('open', 'closed'), raw_state, 'none'), 'Enum8(''none'' = 0, ''open'' = 1, ''closed'' = 2)') AS state,
    toUInt8(JSONExtractBool(iss, 'locked') OR JSONExtractBool(pr, 'locked')) AS locked,
    arrayFirst(s -> s != '', [
        JSONExtractString(iss, 'assignee', 'login'), JSONExtractString(pr, 'assignee', 'login')]) AS assignee,
    if(notEmpty(issue_assignees), issue_assignees,
       arrayMap(x -> JSONExtractString(x, 'login'), JSONExtractArrayRaw(pr, 'assignees'))) AS assignees,
    toUInt32(arrayFirst(n -> n != 0, [JSONExtractUInt(issue_obj, 'comments'), JSONExtractUInt(pr, 'comments')])) AS comments,
    CAST(if(association IN ('CONTRIBUTOR', 'OWNER', 'COLLABORATOR', 'MEMBER', 'MANNEQUIN'), association, 'NONE'),
         'Enum8(''NONE'' = 0, ''CONTRIBUTOR'' = 1, ''OWNER'' = 2, ''COLLABORATOR'' = 3, ''MEMBER'' = 4, ''MANNEQUIN'' = 5)') AS author_association,
    parseDateTimeBestEffortOrZero(arrayFirst(s -> s != '', [
        JSONExtractString(iss, 'closed_at'), JSONExtractString(pr, 'closed_at')]), 'UTC') AS closed_at,
    parseDateTimeBestEffortOrZero(JSONExtractString(pr, 'merged_at'), 'UTC') AS merged_at,
    JSONExtractString(pr, 'merge_commit_sha') AS merge_commit_sha,
    arrayMap(x -> JSONExtractString(x, 'login'), JSONExtractArrayRaw(pr, 'requested_reviewers')) AS requested_reviewers,
    arrayMap(x -> JSONExtractString(x, 'name'), JSONExtractArrayRaw(pr, 'requested_teams')) AS requested_teams,
    JSONExtractString(pr, 'head', 'ref') AS head_ref,
    JSONExtractString(pr, 'head', 'sha') AS head_sha,
    JSONExtractString(pr, 'base', 'ref') AS base_ref,
    JSONExtractString(pr, 'base', 'sha') AS base_sha,
    toUInt8(JSONExtractBool(pr, 'merged') OR (type_name = 'PullRequestEvent' AND raw_action = 'merged')) AS merged,
    toUInt8(JSONExtractBool(pr, 'mergeable')) AS mergeable,
    toUInt8(JSONExtractBool(pr, 'rebaseable')) AS rebaseable,
    CAST(if(raw_mergeable_state IN ('dirty', 'clean', 'unstable', 'draft', 'blocked'), raw_mergeable_state, 'unknown'),
         'Enum8(''unknown'' = 0, ''dirty'' = 1, ''clean'' = 2, ''unstable'' = 3, ''draft'' = 4, ''blocked'' = 5)') AS mergeable_state,
    JSONExtractString(pr, 'merged_by', 'login') AS merged_by,
    toUInt32(JSONExtractUInt(pr, 'review_comments')) AS review_comments,
    toUInt8(JSONExtractBool(pr, 'maintainer_can_modify')) AS maintainer_can_modify,
    toUInt32(JSONExtractUInt(pr, 'commits')) AS commits,
    toUInt32(JSONExtractUInt(pr, 'additions')) AS additions,
    toUInt32(JSONExtractUInt(pr, 'deletions')) AS deletions,
    toUInt32(JSONExtractUInt(pr, 'changed_files')) AS changed_files,
    JSONExtractString(cmt, 'diff_hunk') AS diff_hunk,
    toUInt32(JSONExtractUInt(cmt, 'original_position')) AS original_position,
    arrayFirst(s -> s != '', [
        JSONExtractString(cmt, 'commit_id'), JSONExtractString(rvw, 'commit_id'),
        JSONExtractString(p, 'commit')]) AS commit_id,
    JSONExtractString(cmt, 'original_commit_id') AS original_commit_id,
    toUInt32(if(type_name = 'PushEvent', JSONExtractUInt(p, 'size'), 0)) AS push_size,
    toUInt32(if(type_name = 'PushEvent', JSONExtractUInt(p, 'distinct_size'), 0)) AS push_distinct_size,
    if(JSONType(p, 'member') = 'String', JSONExtractString(p, 'member'), JSONExtractString(p, 'member', 'login')) AS member_login,
    JSONExtractString(rel, 'tag_name') AS release_tag_name,
    JSONExtractString(rel, 'name') AS release_name,
    CAST(if(raw_review_state IN ('approved', 'changes_requested', 'commented', 'dismissed', 'pending'), raw_review_state, 'none'),
         'Enum8(''none'' = 0, ''approved'' = 1, ''changes_requested'' = 2, ''commented'' = 3, ''dismissed'' = 4, ''pending'' = 5)') AS review_state,
    github_id AS event_id,
    JSONExtractUInt(message, 'actor', 'id') AS actor_id,
    if(JSONType(message, 'repo') = 'Object', JSONExtractUInt(message, 'repo', 'id'), JSONExtractUInt(timeline_repo, 'id')) AS repo_id,
    if(JSONType(message, 'org') = 'Object', JSONExtractString(message, 'org', 'login'),
       JSONExtractString(timeline_repo, 'organization')) AS org_login,
    raw_action AS payload_action,
    if(github_id > 0, github_id, cityHash64(message)) AS event_key,
    arrayElement(_headers.value, indexOf(_headers.name, 'source')) AS source,
    arrayElement(_headers.value, indexOf(_headers.name, 'hour')) AS source_hour,
    toUInt32OrZero(arrayElement(_headers.value, indexOf(_headers.name, 'line'))) AS source_line,
    _partition AS kafka_partition,
    _offset AS kafka_offset
FROM ${database}.events_queue
WHERE ${event_error} = '';
