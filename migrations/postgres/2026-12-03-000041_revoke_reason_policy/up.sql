-- Revocations by the stale-token policy (issue 14) are recorded with reason 'policy'.
ALTER TABLE tokens DROP CONSTRAINT tokens_revoke_reason_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_revoke_reason_check
    CHECK (revoke_reason IN ('manual', 'leaked', 'owner_deleted', 'owner_removed', 'bulk', 'policy'));
