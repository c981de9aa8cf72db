-- The token table at a million tokens (issue 11). Sort keys that were expressions ("never"
-- placed last, roles by rank) become stored generated columns, so every sort is a plain
-- column that a covering index holds and the page is read by an index-only scan. The
-- indexes themselves are built by the following migrations, one per migration and
-- CONCURRENTLY, so an upgrade of a populated database does not block writes while they
-- build. (Adding stored columns rewrites the table once: seconds per million tokens.)

ALTER TABLE tokens
    ADD COLUMN owner_role_rank SMALLINT GENERATED ALWAYS AS
        (CASE owner_role WHEN 'viewer' THEN 0 WHEN 'deployment' THEN 1 WHEN 'power_user' THEN 2 WHEN 'admin' THEN 3 ELSE 4 END) STORED,
    ADD COLUMN expires_key BIGINT GENERATED ALWAYS AS (coalesce(expires_at, 9223372036854775807)) STORED,
    ADD COLUMN used_up_key BIGINT GENERATED ALWAYS AS (coalesce(last_used_at, 9223372036854775807)) STORED,
    ADD COLUMN used_down_key BIGINT GENERATED ALWAYS AS (coalesce(last_used_at, -1)) STORED;
