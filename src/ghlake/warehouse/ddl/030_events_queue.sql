-- The Kafka engine reads the events topic; each message is one original JSON
-- line. Parse failures are streamed (_error, _raw_message) instead of dropped.
CREATE TABLE IF NOT EXISTS ${database}.events_queue
(
    line String
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = '${bootstrap}',
    kafka_topic_list = '${topic}',
    kafka_group_name = '${consumer_group}',
    kafka_format = 'JSONAsString',
    kafka_handle_error_mode = 'stream',
    kafka_flush_interval_ms = ${flush_interval_ms},
    kafka_max_block_size = 65536,
    kafka_num_consumers = 1;
