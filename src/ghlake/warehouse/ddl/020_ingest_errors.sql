-- Every message the Kafka engine could not turn into a row lands here with its
-- offset: never silently skipped.
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
