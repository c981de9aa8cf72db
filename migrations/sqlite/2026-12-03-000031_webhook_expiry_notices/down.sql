DROP TABLE webhook_expiry_notices;
