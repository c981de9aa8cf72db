-- Revocations by the stale-token policy (issue 14) are recorded with reason 'policy'.
-- NOT VALID: adding the constraint does not scan the table under its exclusive lock; the next
-- migration validates it with a lock that lets token checks and writes go on.
ALTER TABLE tokens DROP CONSTRAINT tokens_revoke_reason_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_revoke_reason_check
    CHECK (revoke_reason IN ('manual', 'leaked', 'owner_deleted', 'owner_removed', 'bulk', 'policy'))
    NOT VALID;
