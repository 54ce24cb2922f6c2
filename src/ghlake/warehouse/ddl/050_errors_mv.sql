-- Messages that are not JSON objects, and objects of an unknown event type.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.events_queue_errors_mv TO ${database}.ingest_errors AS
SELECT
    _partition AS kafka_partition,
    _offset AS kafka_offset,
    if(length(_error) > 0, _error, concat('unknown event type: ', JSONExtractString(line, 'type'))) AS error,
    if(length(_error) > 0, _raw_message, line) AS raw
FROM ${database}.events_queue
WHERE length(_error) > 0
   OR JSONExtractString(line, 'type') NOT IN (${known_types});
