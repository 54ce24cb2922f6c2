-- Each GH Archive hour's latest reconciliation: events published to Kafka, in the lake, in
-- the warehouse (recorded by `ghlake reconcile`, the API's /v1/reconcile and every replay
-- that waits for its hours), the most recent {{hours}} hours first.
SELECT
    hour_start, hour, published AS kafka, lake, warehouse,
    if(reconciled, 'reconciled', 'differs') AS status, checked_at
FROM hour_stages FINAL
ORDER BY hour_start DESC
LIMIT {{hours}}
