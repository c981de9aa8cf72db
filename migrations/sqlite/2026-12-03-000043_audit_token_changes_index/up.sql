-- The token page's audit trail (issue 14) lists a token's changes, newest first, without its
-- per-minute `token.api_use` records: a token in constant use has half a million of those a
-- year, and the general target index walked through them all to find a token's few changes.
-- Same columns as `audit_events_target`, so SQLite's planner (which has no statistics to tell
-- them apart) picks the partial one where the query states its condition.
CREATE INDEX audit_events_token_changes ON audit_events (target_kind, target_id, at)
    WHERE action <> 'token.api_use';
