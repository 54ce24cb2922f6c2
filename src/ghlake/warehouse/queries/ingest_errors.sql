-- The latest messages the Kafka engine could not turn into events, with their place.
SELECT
    toString(received_at) AS received_at,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    source_hour,
    source_line,
    error,
    substring(raw, 1, {raw_chars:UInt32}) AS raw
FROM ingest_errors
ORDER BY received_at DESC, kafka_partition, kafka_offset DESC
LIMIT {limit:UInt32}
