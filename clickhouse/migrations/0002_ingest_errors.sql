-- Messages the Kafka engine could not turn into a github_events row: not JSON, not a
-- JSON object, no or an unknown event type, an unreadable created_at. Each keeps its
-- topic, partition and offset, and the message itself: never silently skipped.
-- A database from before the migrations already holds this table without the
-- newer columns; the ALTERs bring it up to date.
CREATE TABLE IF NOT EXISTS ${database}.ingest_errors
(
    received_at DateTime('UTC') DEFAULT now(),
    kafka_partition UInt16,
    kafka_offset UInt64,
    error String,
    raw String
)
ENGINE = MergeTree
ORDER BY (received_at, kafka_partition, kafka_offset);

ALTER TABLE ${database}.ingest_errors
    ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) AFTER received_at,
    ADD COLUMN IF NOT EXISTS kafka_key String AFTER kafka_offset,
    ADD COLUMN IF NOT EXISTS source_hour LowCardinality(String) AFTER kafka_key,
    ADD COLUMN IF NOT EXISTS source_line UInt32 AFTER source_hour;
