ALTER TABLE tokens DROP COLUMN owner_role_rank, DROP COLUMN expires_key, DROP COLUMN used_up_key, DROP COLUMN used_down_key;
