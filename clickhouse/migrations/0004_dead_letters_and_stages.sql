-- What did not become an event anywhere, and what each stage held per hour.
--
-- dead_letters: every message of the dead-letter topic (lines the producer refused,
-- records the lake writer could not store), read by the pipeline's second Kafka engine
-- table with its reason and provenance headers. A redelivered message replaces itself:
-- the key is its place on the topic.
CREATE TABLE IF NOT EXISTS ${database}.dead_letters
(
    received_at DateTime('UTC') DEFAULT now(),
    kafka_topic LowCardinality(String),
    kafka_partition UInt16,
    kafka_offset UInt64,
    published_at DateTime64(3, 'UTC'),
    source LowCardinality(String),
    source_hour LowCardinality(String),
    source_line UInt32,
    reason String,
    raw String
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (kafka_topic, kafka_partition, kafka_offset);

-- hour_stages: each reconciliation's counts per GH Archive hour (what the ledger says was
-- published, what the lake and the warehouse held), recorded by the reconciler. The
-- latest check of an hour wins; read it with FINAL or argMax(..., checked_at).
CREATE TABLE IF NOT EXISTS ${database}.hour_stages
(
    hour String,
    hour_start DateTime('UTC'),
    published UInt64,
    lake UInt64,
    warehouse UInt64,
    reconciled Bool,
    checked_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(checked_at)
ORDER BY hour;
