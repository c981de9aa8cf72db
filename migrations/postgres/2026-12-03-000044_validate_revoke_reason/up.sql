-- See 2026-12-03-000041_revoke_reason_policy: checks the existing rows without blocking.
ALTER TABLE tokens VALIDATE CONSTRAINT tokens_revoke_reason_check;
