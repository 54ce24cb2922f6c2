-- Dead letters (lines the producer refused, records the lake writer could not store) per
-- hour and reason, over the last {{hours}} hours.
SELECT toStartOfHour(published_at) AS hour, reason, count() AS letters
FROM dead_letters FINAL
WHERE published_at >= now() - toIntervalHour({{hours}})
GROUP BY hour, reason
ORDER BY hour, letters DESC
