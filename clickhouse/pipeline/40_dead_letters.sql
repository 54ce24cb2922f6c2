-- The dead-letter topic, read with its own consumer group into dead_letters. A dead letter
-- is any bytes at all (that is why it is one), so the format takes the message whole.
CREATE TABLE IF NOT EXISTS ${database}.dead_letters_queue
(
    raw String
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = '${bootstrap}',
    kafka_topic_list = '${dead_letter_topic}',
    kafka_group_name = '${dead_letter_group}',
    kafka_format = 'RawBLOB',
    kafka_flush_interval_ms = ${flush_interval_ms},
    kafka_poll_timeout_ms = ${poll_timeout_ms},
    kafka_num_consumers = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.dead_letters_queue_mv
TO ${database}.dead_letters AS
SELECT
    now() AS received_at,
    _topic AS kafka_topic,
    _partition AS kafka_partition,
    _offset AS kafka_offset,
    _timestamp_ms AS published_at,
    arrayElement(_headers.value, indexOf(_headers.name, 'source')) AS source,
    arrayElement(_headers.value, indexOf(_headers.name, 'hour')) AS source_hour,
    toUInt32OrZero(arrayElement(_headers.value, indexOf(_headers.name, 'line'))) AS source_line,
    arrayElement(_headers.value, indexOf(_headers.name, 'reason')) AS reason,
    raw
FROM ${database}.dead_letters_queue;
