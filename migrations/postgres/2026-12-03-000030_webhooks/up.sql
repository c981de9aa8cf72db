-- Webhooks (issue 14): endpoints, the outbox events are written to in the transaction of the
-- change that caused them, and a log of every delivery attempt. Times are Unix seconds.

CREATE TABLE webhook_endpoints (
    id                 BIGSERIAL PRIMARY KEY,
    url                TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    -- Event types subscribed to, comma-separated (domain::webhook::EventType names).
    events             TEXT NOT NULL,
    -- The signing secret, sealed with XChaCha20-Poly1305 under a key derived from the server
    -- key: 24-byte nonce followed by the ciphertext. Never stored in plain text.
    secret_sealed      BYTEA NOT NULL,
    -- The secret's first characters (`whsec_AbCd`), to tell endpoints apart.
    secret_hint        TEXT NOT NULL,
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         BIGINT NOT NULL,
    created_by_label   TEXT NOT NULL,
    -- Since when every attempt failed (NULL once one succeeds).
    failing_since      BIGINT
);

-- One row per (event, endpoint). `next_attempt_at` is NULL once delivered or given up.
-- A worker takes a row by setting `claimed_until` (a lease) in a short transaction, then makes
-- the HTTP call without holding any lock.
CREATE TABLE webhook_outbox (
    id                 BIGSERIAL PRIMARY KEY,
    endpoint_id        BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- `webhook-id`: the same on every attempt.
    message_id         TEXT NOT NULL UNIQUE,
    event_type         TEXT NOT NULL,
    payload            TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT,
    claimed_until      BIGINT,
    delivered_at       BIGINT,
    gave_up_at         BIGINT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint_id, id);

CREATE TABLE webhook_deliveries (
    id                 BIGSERIAL PRIMARY KEY,
    outbox_id          BIGINT NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    endpoint_id        BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    at                 BIGINT NOT NULL,
    event_type         TEXT NOT NULL,
    attempt            INTEGER NOT NULL,
    -- The response's status code, or NULL with `error` naming the class of failure
    -- (timeout, connect, refused address, ...). Never the response body.
    status_code        INTEGER,
    error              TEXT,
    latency_ms         BIGINT NOT NULL,
    -- When the next attempt is due (NULL: delivered, or no more attempts).
    next_retry_at      BIGINT
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries (outbox_id);
