-- Revocations by the stale-token policy (issue 14) are recorded with reason 'policy'.
--
-- SQLite cannot alter a CHECK constraint, and rebuilding `tokens` (its indexes, full-text
-- triggers, foreign keys) for one more allowed value would copy the largest table. Allowing one
-- more value changes nothing stored on disk, which is the case SQLite documents for editing the
-- table's definition in place (https://sqlite.org/lang_altertable.html, "making other kinds of
-- table schema changes"). The CREATE/DROP after it changes the schema version, so every open
-- connection re-reads the definition.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''owner_removed'', ''bulk'')', '''owner_removed'', ''bulk'', ''policy'')')
 WHERE type = 'table' AND name = 'tokens';
PRAGMA writable_schema = OFF;
CREATE TABLE keyward_schema_version_bump (x INTEGER);
DROP TABLE keyward_schema_version_bump;
