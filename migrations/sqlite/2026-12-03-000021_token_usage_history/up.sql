-- Usage history, written by the usage flush (never a write per request). Requests per token
-- and UTC day (`day` is that day's midnight in Unix seconds), kept for 400 days, and the
-- five most recent distinct client addresses per token. Both go with their token.
CREATE TABLE token_usage_daily (
    token_id  BIGINT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    day       BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (token_id, day)
);
-- The daily prune of days older than the window.
CREATE INDEX token_usage_daily_day ON token_usage_daily (day);

CREATE TABLE token_client_ips (
    token_id    BIGINT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    ip          TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    user_agent  TEXT,
    PRIMARY KEY (token_id, ip)
);
