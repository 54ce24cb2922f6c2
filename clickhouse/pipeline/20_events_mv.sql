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
-- The line is parsed once (the fragment _event.sql, shared with the routing), then read from.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.events_queue_mv
TO ${database}.github_events AS
WITH
    ${event} AS e,
    e.type AS type_name,
    e.payload AS p,
    p.pull_request AS pr,
    p.issue AS iss,
    p.comment AS cmt,
    p.review AS rvw,
    p.release AS rel,
    e.repository AS timeline_repo,
    -- A Variant(String, Tuple(...)) holds an object as the tuple, or, when the object has
    -- none of the tuple's keys, as its text (the String variant reads objects as text).
    variantElement(e.actor, 'Tuple(login String, id UInt64)') AS actor_obj,
    ifNull(variantElement(e.actor, 'String'), '') AS actor_text,
    variantType(e.actor) = 'Tuple(login String, id UInt64)' OR startsWith(actor_text, '{') AS actor_is_object,
    variantElement(e.repo, 'Tuple(name String, id UInt64)') AS repo_obj,
    variantType(e.repo) = 'Tuple(name String, id UInt64)'
        OR startsWith(ifNull(variantElement(e.repo, 'String'), ''), '{') AS repo_is_object,
    ifNull(variantElement(p.member, 'String'), '') AS member_text,
    if(timeline_repo.owner != '', timeline_repo.owner, timeline_repo.organization) AS timeline_owner,
    e.id AS github_id,
    if(dynamicType(p.action) = 'String', p.action.String,
       if(type_name = 'GollumEvent', arrayElement(p.pages, 1).action, '')) AS raw_action,
    arrayFirst(s -> s != '', [
        rvw.author_association, cmt.author_association, iss.author_association, pr.author_association
    ]) AS association,
    arrayFirst(s -> s != '', [iss.state, pr.state]) AS raw_state,
    p.ref_type AS raw_ref_type,
    pr.mergeable_state AS raw_mergeable_state,
    rvw.state AS raw_review_state,
    arrayMap(x -> x.name, iss.labels) AS issue_labels,
    arrayMap(x -> x.login, iss.assignees) AS issue_assignees
SELECT
    parseDateTimeBestEffortOrZero(arrayElement(_headers.value, indexOf(_headers.name, 'file_time')), 'UTC') AS file_time,
    CAST(type_name, 'Enum8(''CommitCommentEvent'' = 1, ''CreateEvent'' = 2, ''DeleteEvent'' = 3, ''ForkEvent'' = 4, ''GollumEvent'' = 5, ''IssueCommentEvent'' = 6, ''IssuesEvent'' = 7, ''MemberEvent'' = 8, ''PublicEvent'' = 9, ''PullRequestEvent'' = 10, ''PullRequestReviewCommentEvent'' = 11, ''PushEvent'' = 12, ''ReleaseEvent'' = 13, ''SponsorshipEvent'' = 14, ''WatchEvent'' = 15, ''GistEvent'' = 16, ''FollowEvent'' = 17, ''DownloadEvent'' = 18, ''PullRequestReviewEvent'' = 19, ''ForkApplyEvent'' = 20, ''Event'' = 21, ''TeamAddEvent'' = 22)') AS event_type,
    multiIf(
        actor_is_object, actor_obj.login,
        variantType(e.actor) = 'String', actor_text,
        e.actor_attributes.login) AS actor_login,
    if(repo_is_object,
        repo_obj.name,
        -- an organization's repository may carry owner '': the organization owns it
        if(timeline_owner != '' AND timeline_repo.name != '',
           concat(timeline_owner, '/', timeline_repo.name),
           timeline_repo.name)) AS repo_name,
    parseDateTimeBestEffortOrZero(e.created_at, 'UTC') AS created_at,
    parseDateTimeBestEffortOrZero(arrayFirst(s -> s != '', [
        cmt.updated_at, rvw.submitted_at, pr.updated_at, iss.updated_at]), 'UTC') AS updated_at,
    CAST(if(raw_action IN ('created', 'added', 'edited', 'deleted', 'opened', 'closed', 'reopened',
                           'assigned', 'unassigned', 'labeled', 'unlabeled', 'review_requested',
                           'review_request_removed', 'synchronize', 'started', 'published',
                           'update', 'create', 'fork', 'merged'), raw_action, 'none'),
         'Enum8(''none'' = 0, ''created'' = 1, ''added'' = 2, ''edited'' = 3, ''deleted'' = 4, ''opened'' = 5, ''closed'' = 6, ''reopened'' = 7, ''assigned'' = 8, ''unassigned'' = 9, ''labeled'' = 10, ''unlabeled'' = 11, ''review_requested'' = 12, ''review_request_removed'' = 13, ''synchronize'' = 14, ''started'' = 15, ''published'' = 16, ''update'' = 17, ''create'' = 18, ''fork'' = 19, ''merged'' = 20)') AS action,
    -- the comment object's id; Timeline lines carry payload.comment_id instead
    if(cmt.id != 0, cmt.id, p.comment_id) AS comment_id,
    arrayFirst(s -> s != '', [rvw.body, cmt.body, iss.body, pr.body, rel.body]) AS body,
    cmt.path AS path,
    cmt.position AS position,
    cmt.line AS line,
    p.ref AS ref,
    CAST(multiIf(raw_ref_type = '', 'none', raw_ref_type IN ('branch', 'tag', 'repository'), raw_ref_type, 'unknown'),
         'Enum8(''none'' = 0, ''branch'' = 1, ''tag'' = 2, ''repository'' = 3, ''unknown'' = 4)') AS ref_type,
    arrayFirst(s -> s != '', [
        cmt.user.login, rvw.user.login, iss.user.login, pr.user.login, rel.author.login]) AS creator_user_login,
    toUInt32(arrayFirst(n -> n != 0, [iss.number, pr.number, p.number])) AS number,
    arrayFirst(s -> s != '', [iss.title, pr.title]) AS title,
    if(notEmpty(issue_labels), issue_labels, arrayMap(x -> x.name, pr.labels)) AS labels,
    CAST(if(raw_state IN ('open', 'closed'), raw_state, 'none'), 'Enum8(''none'' = 0, ''open'' = 1, ''closed'' = 2)') AS state,
    toUInt8(iss.locked OR pr.locked) AS locked,
    arrayFirst(s -> s != '', [iss.assignee.login, pr.assignee.login]) AS assignee,
    if(notEmpty(issue_assignees), issue_assignees, arrayMap(x -> x.login, pr.assignees)) AS assignees,
    toUInt32(arrayFirst(n -> n != 0, [iss.comments, pr.comments])) AS comments,
    CAST(if(association IN ('CONTRIBUTOR', 'OWNER', 'COLLABORATOR', 'MEMBER', 'MANNEQUIN'), association, 'NONE'),
         'Enum8(''NONE'' = 0, ''CONTRIBUTOR'' = 1, ''OWNER'' = 2, ''COLLABORATOR'' = 3, ''MEMBER'' = 4, ''MANNEQUIN'' = 5)') AS author_association,
    parseDateTimeBestEffortOrZero(arrayFirst(s -> s != '', [iss.closed_at, pr.closed_at]), 'UTC') AS closed_at,
    parseDateTimeBestEffortOrZero(pr.merged_at, 'UTC') AS merged_at,
    pr.merge_commit_sha AS merge_commit_sha,
    arrayMap(x -> x.login, pr.requested_reviewers) AS requested_reviewers,
    arrayMap(x -> x.name, pr.requested_teams) AS requested_teams,
    pr.head.ref AS head_ref,
    pr.head.sha AS head_sha,
    pr.base.ref AS base_ref,
    pr.base.sha AS base_sha,
    toUInt8(pr.merged OR (type_name = 'PullRequestEvent' AND raw_action = 'merged')) AS merged,
    toUInt8(pr.mergeable) AS mergeable,
    toUInt8(pr.rebaseable) AS rebaseable,
    CAST(if(raw_mergeable_state IN ('dirty', 'clean', 'unstable', 'draft', 'blocked'), raw_mergeable_state, 'unknown'),
         'Enum8(''unknown'' = 0, ''dirty'' = 1, ''clean'' = 2, ''unstable'' = 3, ''draft'' = 4, ''blocked'' = 5)') AS mergeable_state,
    pr.merged_by.login AS merged_by,
    toUInt32(pr.review_comments) AS review_comments,
    toUInt8(pr.maintainer_can_modify) AS maintainer_can_modify,
    toUInt32(pr.commits) AS commits,
    toUInt32(pr.additions) AS additions,
    toUInt32(pr.deletions) AS deletions,
    toUInt32(pr.changed_files) AS changed_files,
    cmt.diff_hunk AS diff_hunk,
    toUInt32(cmt.original_position) AS original_position,
    arrayFirst(s -> s != '', [cmt.commit_id, rvw.commit_id, p.commit]) AS commit_id,
    cmt.original_commit_id AS original_commit_id,
    toUInt32(if(type_name = 'PushEvent', p.size, 0)) AS push_size,
    toUInt32(if(type_name = 'PushEvent', p.distinct_size, 0)) AS push_distinct_size,
    if(variantType(p.member) = 'String' AND NOT startsWith(member_text, '{'), member_text,
       variantElement(p.member, 'Tuple(login String)').login) AS member_login,
    rel.tag_name AS release_tag_name,
    rel.name AS release_name,
    CAST(if(raw_review_state IN ('approved', 'changes_requested', 'commented', 'dismissed', 'pending'), raw_review_state, 'none'),
         'Enum8(''none'' = 0, ''approved'' = 1, ''changes_requested'' = 2, ''commented'' = 3, ''dismissed'' = 4, ''pending'' = 5)') AS review_state,
    github_id AS event_id,
    actor_obj.id AS actor_id,
    if(repo_is_object, repo_obj.id, timeline_repo.id) AS repo_id,
    if(variantType(e.org) = 'Tuple(login String)'
           OR startsWith(ifNull(variantElement(e.org, 'String'), ''), '{'),
       variantElement(e.org, 'Tuple(login String)').login,
       timeline_repo.organization) AS org_login,
    raw_action AS payload_action,
    if(github_id > 0, github_id, cityHash64(message)) AS event_key,
    arrayElement(_headers.value, indexOf(_headers.name, 'source')) AS source,
    arrayElement(_headers.value, indexOf(_headers.name, 'hour')) AS source_hour,
    toUInt32OrZero(arrayElement(_headers.value, indexOf(_headers.name, 'line'))) AS source_line,
    _partition AS kafka_partition,
    _offset AS kafka_offset
FROM ${database}.events_queue
WHERE ${event_error} = '';
