-- Stale-token policy (issue 14): the warning sent to a token before the policy revokes it.
-- One row per token: `activity_at` is the token's last use (or creation) the warning was about,
-- so a token used after its warning is not revoked, and is warned afresh if it goes stale again.
-- The process whose upsert changes the row sends the warning (once across processes).
CREATE TABLE token_stale_warnings (
    token_id           BIGINT NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    activity_at        BIGINT NOT NULL,
    warned_at          BIGINT NOT NULL
);
