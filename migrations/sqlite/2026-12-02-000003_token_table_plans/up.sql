-- The token table at a million tokens (issue 11). Every sort column gets a covering "list"
-- index: the sort key and id, then every column a filter or the search reads, so finding a
-- page walks one index and never the table. Sort keys that are expressions ("never" placed
-- last) become generated columns, so ORDER BY names a plain column the index holds.
--
-- Last use is indexed at day granularity (last_used_day, kept by triggers that only write
-- when the day changes): the write-behind flush updates last_used_at on every use, and
-- putting that exact time into nine indexes would triple its cost. Only the two last-used
-- sort indexes hold the exact time.

ALTER TABLE tokens ADD COLUMN last_used_day INTEGER;
UPDATE tokens SET last_used_day = last_used_at / 86400 WHERE last_used_at IS NOT NULL;
-- Ranks follow domain::Role::ALL (a unit test in repo::token_table checks the two agree).
ALTER TABLE tokens ADD COLUMN owner_role_rank INTEGER GENERATED ALWAYS AS
    (CASE owner_role WHEN 'viewer' THEN 0 WHEN 'deployment' THEN 1 WHEN 'power_user' THEN 2 WHEN 'admin' THEN 3 ELSE 4 END) VIRTUAL;
-- "Never expires" after every date; "never used" last in both directions.
ALTER TABLE tokens ADD COLUMN expires_key INTEGER GENERATED ALWAYS AS (coalesce(expires_at, 9223372036854775807)) VIRTUAL;
ALTER TABLE tokens ADD COLUMN used_up_key INTEGER GENERATED ALWAYS AS (coalesce(last_used_at, 9223372036854775807)) VIRTUAL;
ALTER TABLE tokens ADD COLUMN used_down_key INTEGER GENERATED ALWAYS AS (coalesce(last_used_at, -1)) VIRTUAL;

CREATE TRIGGER tokens_last_used_day_insert AFTER INSERT ON tokens
    WHEN new.last_used_at IS NOT NULL AND new.last_used_day IS NOT new.last_used_at / 86400 BEGIN
    UPDATE tokens SET last_used_day = new.last_used_at / 86400 WHERE id = new.id;
END;
CREATE TRIGGER tokens_last_used_day_update AFTER UPDATE OF last_used_at ON tokens
    WHEN new.last_used_at / 86400 IS NOT old.last_used_day BEGIN
    UPDATE tokens SET last_used_day = new.last_used_at / 86400 WHERE id = new.id;
END;

DROP INDEX tokens_by_created;
DROP INDEX tokens_by_name;
DROP INDEX tokens_by_prefix;
DROP INDEX tokens_by_owner_name;
DROP INDEX tokens_by_kind;
DROP INDEX tokens_by_role;
DROP INDEX tokens_by_expires;
DROP INDEX tokens_by_last_used;
DROP INDEX tokens_by_last_used_desc;
DROP INDEX tokens_by_revoked;

CREATE INDEX tokens_list_created ON tokens (created_at, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, search_text);
CREATE INDEX tokens_list_name ON tokens (name, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_prefix ON tokens (display_prefix, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_owner ON tokens (owner_name, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_kind ON tokens (kind, id, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_role ON tokens (owner_role_rank, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_expires ON tokens (expires_key, id, kind, owner_disabled, revoked_at, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_used_up ON tokens (used_up_key, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
CREATE INDEX tokens_list_used_down ON tokens (used_down_key, id, kind, owner_disabled, revoked_at, expires_key, last_used_day, created_at, search_text);
