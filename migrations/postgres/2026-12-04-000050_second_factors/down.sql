DROP TABLE recovery_codes;
DROP TABLE user_totp;
