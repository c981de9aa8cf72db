-- Revocations by the stale-token policy (issue 14) are recorded with reason 'policy'.
--
-- SQLite cannot alter a CHECK constraint, and rebuilding `tokens` (its indexes, full-text
-- triggers, foreign keys) for one more allowed value would copy the largest table. Allowing one
-- more value changes nothing stored on disk, which is the case SQLite documents for editing the
-- table's definition in place (https://sqlite.org/lang_altertable.html, "making other kinds of
-- table schema changes"). `writable_schema = RESET` makes this connection re-read the
-- definition; the CREATE/DROP changes the schema version, so every other connection does too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''owner_removed'', ''bulk'')', '''owner_removed'', ''bulk'', ''policy'')')
 WHERE type = 'table' AND name = 'tokens';
PRAGMA writable_schema = RESET;
CREATE TABLE keyward_schema_version_bump (x INTEGER);
DROP TABLE keyward_schema_version_bump;
-- Fails the migration (and rolls it back) if the definition did not have the expected text.
CREATE TEMP TABLE keyward_migration_check (ok INTEGER CHECK (ok = 1));
INSERT INTO keyward_migration_check
    SELECT COUNT(*) FROM sqlite_schema
     WHERE type = 'table' AND name = 'tokens' AND sql LIKE '%''bulk'', ''policy'')%';
DROP TABLE keyward_migration_check;
