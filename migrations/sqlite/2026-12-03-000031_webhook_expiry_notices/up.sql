-- Scheduled expiry events (issue 14): one row per token and notice sent (or skipped as stale),
-- so each `token.expiring` threshold (days before expiry: 14, 7, 1) and `token.expired` (0) is
-- sent once across processes: the process whose insert wins writes the event.
CREATE TABLE webhook_expiry_notices (
    token_id           BIGINT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    threshold          INTEGER NOT NULL,
    emitted_at         BIGINT NOT NULL,
    PRIMARY KEY (token_id, threshold)
);
