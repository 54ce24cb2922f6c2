-- Every message that is not an event, with its place on the topic.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.events_queue_errors_mv
TO ${database}.ingest_errors AS
WITH ${event_error} AS reason
SELECT
    now() AS received_at,
    _topic AS kafka_topic,
    _partition AS kafka_partition,
    _offset AS kafka_offset,
    ifNull(_key, '') AS kafka_key,
    arrayElement(_headers.value, indexOf(_headers.name, 'hour')) AS source_hour,
    toUInt32OrZero(arrayElement(_headers.value, indexOf(_headers.name, 'line'))) AS source_line,
    reason AS error,
    if(length(_error) > 0, _raw_message, message) AS raw
FROM ${database}.events_queue
WHERE reason != '';
