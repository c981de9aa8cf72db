-- Replaced by the covering tokens_list_* indexes built before this migration.
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
