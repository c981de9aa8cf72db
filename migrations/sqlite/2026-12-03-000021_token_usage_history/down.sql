DROP TABLE token_client_ips;
DROP TABLE token_usage_daily;
