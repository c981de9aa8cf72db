-- The organisation-wide token table filters, sorts and searches a million tokens. Joining
-- every row to its owner for that is too slow, so the owner's name, role and disabled state
-- are copied onto each token (kept in step by the service layer, in the same transaction as
-- the change), with a lowercased search text. Text sort columns use the C collation, so both
-- backends sort byte-wise and the same.

ALTER TABLE tokens ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE tokens ALTER COLUMN display_prefix TYPE TEXT COLLATE "C";
ALTER TABLE tokens ADD COLUMN owner_name TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN owner_role TEXT COLLATE "C" NOT NULL DEFAULT 'viewer';
ALTER TABLE tokens ADD COLUMN owner_disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tokens ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

UPDATE tokens SET owner_name = sa.name, owner_role = sa.role,
       owner_disabled = (sa.disabled_at IS NOT NULL OR sa.deleted_at IS NOT NULL)
  FROM service_accounts sa WHERE tokens.service_account_id = sa.id;
UPDATE tokens SET owner_name = u.email, owner_role = u.role,
       owner_disabled = (u.deactivated_at IS NOT NULL OR u.removed_at IS NOT NULL)
  FROM users u WHERE tokens.user_id = u.id;
UPDATE tokens SET search_text = lower(name || chr(10) || display_prefix || chr(10) || owner_name || chr(10) || description);

-- One index per sort column, each ending in the id that breaks ties.
CREATE INDEX tokens_by_created ON tokens (created_at, id);
CREATE INDEX tokens_by_name ON tokens (name, id);
CREATE INDEX tokens_by_prefix ON tokens (display_prefix, id);
CREATE INDEX tokens_by_owner_name ON tokens (owner_name, id);
CREATE INDEX tokens_by_kind ON tokens (kind, id);
CREATE INDEX tokens_by_role ON tokens (owner_role, id);
-- "Never expires" sorts after every date; "never used" after every use, in both directions.
CREATE INDEX tokens_by_expires ON tokens ((expires_at IS NULL), expires_at, id);
CREATE INDEX tokens_by_last_used ON tokens ((last_used_at IS NULL), last_used_at, id);
CREATE INDEX tokens_by_last_used_desc ON tokens ((last_used_at IS NULL), last_used_at DESC, id DESC);
CREATE INDEX tokens_by_revoked ON tokens (revoked_at);

-- Substring search: trigram index when the pg_trgm extension can be installed (a scan
-- otherwise, which is correct but slower).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available: token search will scan';
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX tokens_search_trgm ON tokens USING gin (search_text gin_trgm_ops)';
    END IF;
END $$;
