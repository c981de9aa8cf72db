-- Built CONCURRENTLY (see 000003), hence a migration of its own outside a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tokens_list_expires ON tokens (expires_key, id) INCLUDE (kind, owner_disabled, revoked_at, last_used_at, created_at, search_text);
