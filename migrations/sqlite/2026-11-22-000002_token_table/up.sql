-- The organisation-wide token table filters, sorts and searches a million tokens. Joining
-- every row to its owner for that is too slow, so the owner's name, role and disabled state
-- are copied onto each token (kept in step by the service layer, in the same transaction as
-- the change), with a lowercased search text. SQLite compares text byte-wise (BINARY), like
-- the C collation the PostgreSQL flavour uses.

ALTER TABLE tokens ADD COLUMN owner_name TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'viewer';
ALTER TABLE tokens ADD COLUMN owner_disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tokens ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

UPDATE tokens SET owner_name = sa.name, owner_role = sa.role,
       owner_disabled = (sa.disabled_at IS NOT NULL OR sa.deleted_at IS NOT NULL)
  FROM service_accounts AS sa WHERE tokens.service_account_id = sa.id;
UPDATE tokens SET owner_name = u.email, owner_role = u.role,
       owner_disabled = (u.deactivated_at IS NOT NULL OR u.removed_at IS NOT NULL)
  FROM users AS u WHERE tokens.user_id = u.id;
UPDATE tokens SET search_text = lower(name || char(10) || display_prefix || char(10) || owner_name || char(10) || description);

CREATE INDEX tokens_by_created ON tokens (created_at, id);
CREATE INDEX tokens_by_name ON tokens (name, id);
CREATE INDEX tokens_by_prefix ON tokens (display_prefix, id);
CREATE INDEX tokens_by_owner_name ON tokens (owner_name, id);
CREATE INDEX tokens_by_kind ON tokens (kind, id);
CREATE INDEX tokens_by_role ON tokens (owner_role, id);
CREATE INDEX tokens_by_expires ON tokens ((expires_at IS NULL), expires_at, id);
CREATE INDEX tokens_by_last_used ON tokens ((last_used_at IS NULL), last_used_at, id);
CREATE INDEX tokens_by_last_used_desc ON tokens ((last_used_at IS NULL), last_used_at DESC, id DESC);
CREATE INDEX tokens_by_revoked ON tokens (revoked_at);

-- Substring search: an FTS5 trigram index over search_text, kept in step by triggers.
CREATE VIRTUAL TABLE token_search USING fts5(search_text, content = 'tokens', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO token_search (token_search) VALUES ('rebuild');
CREATE TRIGGER tokens_search_insert AFTER INSERT ON tokens BEGIN
    INSERT INTO token_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER tokens_search_delete AFTER DELETE ON tokens BEGIN
    INSERT INTO token_search (token_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER tokens_search_update AFTER UPDATE OF search_text ON tokens BEGIN
    INSERT INTO token_search (token_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO token_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
