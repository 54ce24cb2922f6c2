-- The typed events, column-compatible with ClickHouse's public "GitHub Events"
-- dataset (a subset of its columns for now) plus ids and provenance.
-- Deduplicated on the event's identity: the sorting key ends with event_key,
-- which is the GitHub id or, in the Timeline era that has none, a hash of the line.
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
    event_id UInt64,
    repo_id UInt64,
    event_key UInt64,
    source LowCardinality(String),
    source_hour LowCardinality(String),
    kafka_partition UInt16,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
ORDER BY (event_type, repo_name, created_at, event_key);
