-- The Kafka engine reads the events topic; each message is one original JSON line (column `message`).
-- Unparsable messages are streamed (_error, _raw_message) to the errors view instead of
-- being skipped or stopping the consumer. The flush interval bounds freshness.
CREATE TABLE IF NOT EXISTS ${database}.events_queue
(
    message String
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = '${bootstrap}',
    kafka_topic_list = '${topic}',
    kafka_group_name = '${consumer_group}',
    kafka_format = 'JSONAsString',
    kafka_handle_error_mode = 'stream',
    kafka_flush_interval_ms = ${flush_interval_ms},
    kafka_poll_timeout_ms = ${poll_timeout_ms},
    kafka_max_block_size = ${max_block_size},
    kafka_num_consumers = ${num_consumers},
    kafka_thread_per_consumer = ${thread_per_consumer};
