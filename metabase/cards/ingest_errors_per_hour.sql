-- Messages that did not become events, per hour and reason, over the last {{hours}} hours.
SELECT toStartOfHour(received_at) AS hour, error, count() AS messages
FROM ingest_errors
WHERE received_at >= now() - toIntervalHour({{hours}})
GROUP BY hour, error
ORDER BY hour, messages DESC
