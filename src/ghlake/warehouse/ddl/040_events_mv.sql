-- Known event types of every era into github_events.
-- Timeline era (2012-2014): actor is a login string, the repository is
-- repository{owner, name, id}, there is no id, created_at has a -07:00/-08:00 offset.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.events_queue_mv TO ${database}.github_events AS
SELECT
    parseDateTimeBestEffortOrZero(arrayElement(_headers.value, indexOf(_headers.name, 'file_time')), 'UTC') AS file_time,
    CAST(JSONExtractString(line, 'type'), 'Enum8(''CommitCommentEvent'' = 1, ''CreateEvent'' = 2, ''DeleteEvent'' = 3, ''ForkEvent'' = 4, ''GollumEvent'' = 5, ''IssueCommentEvent'' = 6, ''IssuesEvent'' = 7, ''MemberEvent'' = 8, ''PublicEvent'' = 9, ''PullRequestEvent'' = 10, ''PullRequestReviewCommentEvent'' = 11, ''PushEvent'' = 12, ''ReleaseEvent'' = 13, ''SponsorshipEvent'' = 14, ''WatchEvent'' = 15, ''GistEvent'' = 16, ''FollowEvent'' = 17, ''DownloadEvent'' = 18, ''PullRequestReviewEvent'' = 19, ''ForkApplyEvent'' = 20, ''Event'' = 21, ''TeamAddEvent'' = 22)') AS event_type,
    multiIf(
        JSONType(line, 'actor') = 'Object', JSONExtractString(line, 'actor', 'login'),
        JSONType(line, 'actor') = 'String', JSONExtractString(line, 'actor'),
        JSONExtractString(line, 'actor_attributes', 'login')) AS actor_login,
    if(JSONHas(line, 'repo'),
        JSONExtractString(line, 'repo', 'name'),
        concat(JSONExtractString(line, 'repository', 'owner'), '/', JSONExtractString(line, 'repository', 'name'))) AS repo_name,
    parseDateTimeBestEffortOrZero(JSONExtractString(line, 'created_at'), 'UTC') AS created_at,
    toUInt64OrZero(trim(BOTH '"' FROM JSONExtractRaw(line, 'id'))) AS event_id,
    if(JSONHas(line, 'repo'), JSONExtractUInt(line, 'repo', 'id'), JSONExtractUInt(line, 'repository', 'id')) AS repo_id,
    if(event_id > 0, event_id, cityHash64(line)) AS event_key,
    arrayElement(_headers.value, indexOf(_headers.name, 'source')) AS source,
    arrayElement(_headers.value, indexOf(_headers.name, 'hour')) AS source_hour,
    _partition AS kafka_partition,
    _offset AS kafka_offset
FROM ${database}.events_queue
WHERE length(_error) = 0
  AND JSONExtractString(line, 'type') IN (${known_types});
