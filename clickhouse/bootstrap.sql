-- Run before every migration pass: the database and the ledger of applied migrations.
CREATE DATABASE IF NOT EXISTS ${database};

CREATE TABLE IF NOT EXISTS ${database}.schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree
ORDER BY version;

-- Which rendering of pipeline/ (Kafka engine table and its views) is live: the
-- warehouse recreates them when the rendered text changes (settings or files).
CREATE TABLE IF NOT EXISTS ${database}.schema_pipeline
(
    checksum String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY applied_at;
