-- Why a message from the events topic is not an event ('' when it is one). Both the
-- normalizer and the errors view use this one expression, so every message lands in
-- exactly one of github_events and ingest_errors.
multiIf(
    length(_error) > 0, concat('unparsable message: ', _error),
    NOT isValidJSON(message), 'not JSON',
    JSONType(message) != 'Object', concat('not a JSON object: ', toString(JSONType(message))),
    JSONExtractString(message, 'type') = '', 'no event type',
    JSONExtractString(message, 'type') NOT IN (${known_types}),
        concat('unknown event type: ', JSONExtractString(message, 'type')),
    isNull(parseDateTimeBestEffortOrNull(JSONExtractString(message, 'created_at'), 'UTC')),
        concat('created_at is not a timestamp: ', JSONExtractRaw(message, 'created_at')),
    '')
