-- PostgreSQL validates its widened constraint here; SQLite's needed nothing (the versions of the
-- two engines' migrations stay the same).
SELECT 1;
