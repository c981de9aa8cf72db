-- Built CONCURRENTLY (see 000003), hence a migration of its own outside a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tokens_list_prefix ON tokens (display_prefix, id) INCLUDE (kind, owner_disabled, revoked_at, expires_key, last_used_at, created_at, search_text);
