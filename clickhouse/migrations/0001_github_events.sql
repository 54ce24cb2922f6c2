-- github_events: every event of every era, one wide row per event, column-compatible
-- with ClickHouse's public "GitHub Events" dataset (same names, types and Enum
-- numbering, so its published queries run unchanged), plus ids and provenance.
--
-- No Nullable: '' / 0 / 1970-01-01 stand for "absent", as in the public dataset.
--
-- Identity and deduplication: event_key is the GitHub event id or, in the Timeline
-- era (2012-2014) that has none, cityHash64 of the original line. The sorting key
-- ends with (created_at, event_key), so ReplacingMergeTree folds every copy of the
-- same (id, created_at) into one row at merge time; exact counts read FINAL (or
-- count distinct (event_key, created_at)). event_type and repo_name come from the
-- same JSON line, so two copies of one event always share the whole key.
--
-- Ordering: (event_type, repo_name, created_at) is the public dataset's key and fits
-- the dashboards (a type and a window, one repository over time); monthly partitions
-- prune time windows; the skip indexes serve the actor page and event ids.
--
-- Creating the table (a new database, or one from before the migrations) rebuilds it
-- from the topic, which retains 30 days: the consumer group is rewound first.
-- ghlake: replay-topic
CREATE TABLE IF NOT EXISTS ${database}.github_events
(
    file_time DateTime('UTC'),
    event_type Enum8(
        'CommitCommentEvent' = 1, 'CreateEvent' = 2, 'DeleteEvent' = 3, 'ForkEvent' = 4,
        'GollumEvent' = 5, 'IssueCommentEvent' = 6, 'IssuesEvent' = 7, 'MemberEvent' = 8,
        'PublicEvent' = 9, 'PullRequestEvent' = 10, 'PullRequestReviewCommentEvent' = 11,
        'PushEvent' = 12, 'ReleaseEvent' = 13, 'SponsorshipEvent' = 14, 'WatchEvent' = 15,
        'GistEvent' = 16, 'FollowEvent' = 17, 'DownloadEvent' = 18, 'PullRequestReviewEvent' = 19,
        'ForkApplyEvent' = 20, 'Event' = 21, 'TeamAddEvent' = 22),
    actor_login LowCardinality(String),
    repo_name LowCardinality(String),
    created_at DateTime('UTC'),
    updated_at DateTime('UTC'),
    action Enum8(
        'none' = 0, 'created' = 1, 'added' = 2, 'edited' = 3, 'deleted' = 4, 'opened' = 5,
        'closed' = 6, 'reopened' = 7, 'assigned' = 8, 'unassigned' = 9, 'labeled' = 10,
        'unlabeled' = 11, 'review_requested' = 12, 'review_request_removed' = 13,
        'synchronize' = 14, 'started' = 15, 'published' = 16, 'update' = 17, 'create' = 18,
        'fork' = 19, 'merged' = 20),
    comment_id UInt64,
    body String,
    path String,
    position Int32,
    line Int32,
    ref LowCardinality(String),
    ref_type Enum8('none' = 0, 'branch' = 1, 'tag' = 2, 'repository' = 3, 'unknown' = 4),
    creator_user_login LowCardinality(String),
    number UInt32,
    title String,
    labels Array(LowCardinality(String)),
    state Enum8('none' = 0, 'open' = 1, 'closed' = 2),
    locked UInt8,
    assignee LowCardinality(String),
    assignees Array(LowCardinality(String)),
    comments UInt32,
    author_association Enum8(
        'NONE' = 0, 'CONTRIBUTOR' = 1, 'OWNER' = 2, 'COLLABORATOR' = 3, 'MEMBER' = 4,
        'MANNEQUIN' = 5),
    closed_at DateTime('UTC'),
    merged_at DateTime('UTC'),
    merge_commit_sha String,
    requested_reviewers Array(LowCardinality(String)),
    requested_teams Array(LowCardinality(String)),
    head_ref LowCardinality(String),
    head_sha String,
    base_ref LowCardinality(String),
    base_sha String,
    merged UInt8,
    mergeable UInt8,
    rebaseable UInt8,
    mergeable_state Enum8(
        'unknown' = 0, 'dirty' = 1, 'clean' = 2, 'unstable' = 3, 'draft' = 4, 'blocked' = 5),
    merged_by LowCardinality(String),
    review_comments UInt32,
    maintainer_can_modify UInt8,
    commits UInt32,
    additions UInt32,
    deletions UInt32,
    changed_files UInt32,
    diff_hunk String,
    original_position UInt32,
    commit_id String,
    original_commit_id String,
    push_size UInt32,
    push_distinct_size UInt32,
    member_login LowCardinality(String),
    release_tag_name String,
    release_name String,
    review_state Enum8(
        'none' = 0, 'approved' = 1, 'changes_requested' = 2, 'commented' = 3, 'dismissed' = 4,
        'pending' = 5),
    -- Beyond the public dataset: identity, the raw action, the organization, provenance.
    event_id UInt64,
    actor_id UInt64,
    repo_id UInt64,
    org_login LowCardinality(String),
    payload_action LowCardinality(String),
    event_key UInt64,
    source LowCardinality(String),
    source_hour LowCardinality(String),
    source_line UInt32,
    kafka_partition UInt16,
    kafka_offset UInt64,
    INDEX actor_login_bf actor_login TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX event_id_minmax event_id TYPE minmax GRANULARITY 4,
    INDEX created_at_minmax created_at TYPE minmax GRANULARITY 1,
    INDEX source_hour_set source_hour TYPE set(64) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (event_type, repo_name, created_at, event_key);
