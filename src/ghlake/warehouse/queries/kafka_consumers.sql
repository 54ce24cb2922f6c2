-- The Kafka engine's consumers as ClickHouse sees them (system.kafka_consumers), to set
-- beside the broker's view of the same group: assignments, positions, polls and commits.
SELECT
    table,
    consumer_id,
    assignments.topic AS topics,
    assignments.partition_id AS partitions,
    assignments.current_offset AS offsets,
    num_messages_read,
    num_commits,
    toString(last_poll_time) AS last_poll_time,
    toString(last_commit_time) AS last_commit_time,
    is_currently_used,
    arrayElement(exceptions.text, -1) AS last_exception
FROM system.kafka_consumers
WHERE database = currentDatabase()
ORDER BY table, consumer_id
