-- Keyward schema, SQLite flavour. The PostgreSQL flavour (../../postgres) has the same tables,
-- columns and indexes; only the id and binary column types differ. Times are Unix seconds
-- (BIGINT) in both, so every query is the same on either backend.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    -- NULL until the person sets a password through their one-time link.
    password_hash   TEXT,
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'deployment', 'power_user', 'admin')),
    deactivated_at  BIGINT,
    removed_at      BIGINT,
    created_at      BIGINT NOT NULL,
    created_by      BIGINT REFERENCES users (id),
    updated_at      BIGINT NOT NULL,
    last_login_at   BIGINT,
    -- Bumped to end every session of the user at once (password set, deactivation, removal).
    session_epoch   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_email_live ON users (email) WHERE removed_at IS NULL;

-- One-time codes: the first-admin setup code and set-password links. Only a keyed hash is kept.
CREATE TABLE one_time_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose     TEXT NOT NULL CHECK (purpose IN ('bootstrap', 'set_password')),
    code_hash   BLOB NOT NULL UNIQUE,
    user_id     BIGINT REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- tower-sessions records. `id` is a SHA-256 of the session id, so a copy of this table
-- cannot be replayed as cookies.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    user_id     BIGINT
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    email       TEXT NOT NULL,
    ip          TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);
CREATE INDEX login_failures_ip_at ON login_failures (ip, at);

CREATE TABLE service_accounts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL CHECK (role IN ('viewer', 'deployment', 'power_user', 'admin')),
    -- May call /api/v1/introspect even without the Admin role.
    can_introspect    BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_at       BIGINT,
    deleted_at        BIGINT,
    created_at        BIGINT NOT NULL,
    created_by        BIGINT REFERENCES users (id),
    created_by_label  TEXT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX service_accounts_name_live ON service_accounts (name) WHERE deleted_at IS NULL;

CREATE TABLE tokens (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id                   TEXT NOT NULL UNIQUE,
    kind                        TEXT NOT NULL CHECK (kind IN ('service_account', 'personal')),
    service_account_id          BIGINT REFERENCES service_accounts (id),
    user_id                     BIGINT REFERENCES users (id),
    name                        TEXT NOT NULL,
    description                 TEXT NOT NULL DEFAULT '',
    display_prefix              TEXT NOT NULL,
    -- HMAC-SHA256 of the token under the server key; the token itself is never stored.
    secret_hash                 BLOB NOT NULL,
    -- After a rotation the old secret keeps working until previous_secret_expires_at.
    previous_secret_hash        BLOB,
    previous_secret_expires_at  BIGINT,
    created_at                  BIGINT NOT NULL,
    created_by                  BIGINT REFERENCES users (id),
    created_by_label            TEXT NOT NULL,
    expires_at                  BIGINT,
    -- Sliding expiry: valid this many days after the last use.
    sliding_days                INTEGER,
    rotated_at                  BIGINT,
    last_used_at                BIGINT,
    last_used_ip                TEXT,
    last_used_user_agent        TEXT,
    revoked_at                  BIGINT,
    revoked_by_label            TEXT,
    revoke_reason               TEXT CHECK (revoke_reason IN ('manual', 'leaked', 'owner_deleted', 'owner_removed', 'bulk')),
    -- Newline-separated CIDR ranges; empty allows every address.
    allowed_cidrs               TEXT NOT NULL DEFAULT '',
    rate_limit_per_minute       INTEGER,
    CHECK ((kind = 'service_account' AND service_account_id IS NOT NULL AND user_id IS NULL)
        OR (kind = 'personal' AND user_id IS NOT NULL AND service_account_id IS NULL))
);
-- Names are unique per owner (NULL owners never collide, so each index covers one kind).
CREATE UNIQUE INDEX tokens_service_account_name ON tokens (service_account_id, name);
CREATE UNIQUE INDEX tokens_user_name ON tokens (user_id, name);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            BIGINT NOT NULL,
    -- user | token | operator | anonymous | system
    actor_kind    TEXT NOT NULL,
    actor_id      BIGINT,
    actor_label   TEXT NOT NULL,
    action        TEXT NOT NULL,
    target_kind   TEXT NOT NULL,
    target_id     BIGINT,
    target_label  TEXT NOT NULL,
    ip            TEXT,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_label, at);
CREATE INDEX audit_events_action ON audit_events (action, at);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, at);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE saved_searches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    BIGINT NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    shared      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX saved_searches_owner_name ON saved_searches (owner_id, name);

-- Bumped whenever something that cached credentials depend on changes (revocation, role
-- change, disable, deactivation); every process polls it to drop stale cache entries.
CREATE TABLE auth_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, epoch) VALUES (1, 0);
