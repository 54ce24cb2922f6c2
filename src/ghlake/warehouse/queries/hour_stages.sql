-- Each GH Archive hour's latest reconciliation: what was published to Kafka, what the lake
-- and the warehouse held, and when it was checked; the most recent hours first.
SELECT hour, hour_start, published, lake, warehouse, reconciled, checked_at
FROM hour_stages FINAL
ORDER BY hour_start DESC
LIMIT {limit:UInt32}
