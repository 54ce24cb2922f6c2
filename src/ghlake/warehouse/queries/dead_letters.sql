-- The latest dead letters (lines the producer refused, records the lake writer could not
-- store), each with its reason, provenance and place on the dead-letter topic.
SELECT
    published_at, kafka_topic, kafka_partition, kafka_offset, source, source_hour, source_line,
    reason, substring(raw, 1, {raw_chars:UInt32}) AS raw
FROM dead_letters FINAL
ORDER BY published_at DESC, kafka_partition, kafka_offset DESC
LIMIT {limit:UInt32}
