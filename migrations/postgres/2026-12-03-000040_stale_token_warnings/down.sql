DROP TABLE token_stale_warnings;
