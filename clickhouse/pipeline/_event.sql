-- Each message parsed once: one JSONExtract into a typed tuple of the fields the views read
-- (each JSONExtract* call parses its whole argument again). Both views use this one
-- expression, so in the events view the routing and the mapping share one parse.
-- Absent keys and nulls read as the element's default ('' / 0 / false / []), as
-- JSONExtract* of a missing key do; so does a bare id where an object is expected (Timeline
-- payload.issue / comment). Where the eras disagree on a field's shape (actor, repo, org,
-- member: a login string or an object), the element is a Variant(String, Tuple(...)), which
-- keeps the shape the line has; payload.action is Dynamic, for its JSON type.
-- Shapes that no era has read differently from the per-field calls of before (an array
-- where an object is expected fills the tuple by position; a JSON bool where a count is
-- expected reads as 1, not 0; a number where a login is expected reads as its text):
-- bench/warehouse_mapping.py checks every real line of every era maps as before.
JSONExtract(message, 'Tuple(
    type String, id UInt64, created_at String,
    actor Variant(String, Tuple(login String, id UInt64)),
    actor_attributes Tuple(login String),
    repo Variant(String, Tuple(name String, id UInt64)),
    repository Tuple(owner String, name String, id UInt64, organization String),
    org Variant(String, Tuple(login String)),
    payload Tuple(
        action Dynamic, pages Array(Tuple(action String)),
        ref String, ref_type String, number UInt64, comment_id UInt64, commit String,
        size UInt64, distinct_size UInt64,
        member Variant(String, Tuple(login String)),
        issue Tuple(
            author_association String, state String, updated_at String, body String,
            user Tuple(login String), number UInt64, title String,
            labels Array(Tuple(name String)), locked Bool, assignee Tuple(login String),
            assignees Array(Tuple(login String)), comments UInt64, closed_at String),
        pull_request Tuple(
            author_association String, state String, updated_at String, body String,
            user Tuple(login String), number UInt64, title String,
            labels Array(Tuple(name String)), locked Bool, assignee Tuple(login String),
            assignees Array(Tuple(login String)), comments UInt64, closed_at String,
            merged_at String, merge_commit_sha String,
            requested_reviewers Array(Tuple(login String)),
            requested_teams Array(Tuple(name String)),
            head Tuple(ref String, sha String), base Tuple(ref String, sha String),
            merged Bool, mergeable Bool, rebaseable Bool, mergeable_state String,
            merged_by Tuple(login String), review_comments UInt64,
            maintainer_can_modify Bool, commits UInt64, additions UInt64, deletions UInt64,
            changed_files UInt64),
        comment Tuple(
            id UInt64, author_association String, updated_at String, body String,
            path String, position Int64, line Int64, user Tuple(login String),
            diff_hunk String, original_position UInt64, commit_id String,
            original_commit_id String),
        review Tuple(
            author_association String, submitted_at String, body String,
            user Tuple(login String), commit_id String, state String),
        release Tuple(body String, author Tuple(login String), tag_name String, name String)))')
