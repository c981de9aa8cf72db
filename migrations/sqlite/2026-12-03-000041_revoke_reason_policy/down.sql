UPDATE tokens SET revoke_reason = 'manual' WHERE revoke_reason = 'policy';
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''owner_removed'', ''bulk'', ''policy'')', '''owner_removed'', ''bulk'')')
 WHERE type = 'table' AND name = 'tokens';
PRAGMA writable_schema = RESET;
CREATE TABLE keyward_schema_version_bump (x INTEGER);
DROP TABLE keyward_schema_version_bump;
