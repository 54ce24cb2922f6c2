-- How far the Kafka engine got: per partition, the highest offset written.
SELECT kafka_partition, max(kafka_offset) AS max_offset, count() AS messages
FROM
(
    SELECT kafka_partition, kafka_offset FROM github_events
    UNION ALL
    SELECT kafka_partition, kafka_offset FROM ingest_errors
)
GROUP BY kafka_partition
ORDER BY kafka_partition
