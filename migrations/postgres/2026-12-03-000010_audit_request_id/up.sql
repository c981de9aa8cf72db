-- The id of the request that wrote the record (`X-Request-Id`), to find its log lines.
-- NULL for records written outside a request: the command line, background work, and every
-- record older than this column. A nullable column without a default: PostgreSQL adds it
-- without rewriting the table, so the upgrade does not hold a long lock on a big log.
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
