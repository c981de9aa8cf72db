-- Retention (issue 14): the hourly prune deletes by age; without these it read every row of
-- both tables each time.
CREATE INDEX webhook_outbox_created ON webhook_outbox (created_at);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);
