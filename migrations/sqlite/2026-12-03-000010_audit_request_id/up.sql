-- The id of the request that wrote the record (`X-Request-Id`), to find its log lines.
-- NULL for records written outside a request: the command line, background work, and every
-- record older than this column.
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
