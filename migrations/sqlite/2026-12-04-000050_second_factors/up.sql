-- Second factors (issue 15).
-- An authenticator app (TOTP, RFC 6238) per person. The shared secret is sealed
-- (XChaCha20-Poly1305 under a key derived from the server key, bound to its purpose).
-- `confirmed_at` is NULL while enrolment waits for the first code. `last_step` is the
-- 30-second step of the last accepted code: a code is accepted only for a later step, by a
-- conditional update, so no code works twice, in any process.
CREATE TABLE user_totp (
    user_id            BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed      BLOB NOT NULL,
    created_at         BIGINT NOT NULL,
    confirmed_at       BIGINT,
    last_step          BIGINT
);
-- Single-use recovery codes, stored as keyed hashes (HMAC-SHA-256 under the server key: they
-- are long and random, so a slow hash adds nothing). Used up by a conditional update.
CREATE TABLE recovery_codes (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash          BLOB NOT NULL,
    created_at         BIGINT NOT NULL,
    used_at            BIGINT
);
CREATE UNIQUE INDEX recovery_codes_user_hash ON recovery_codes (user_id, code_hash);
