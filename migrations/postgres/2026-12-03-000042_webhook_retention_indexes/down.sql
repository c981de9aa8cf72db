DROP INDEX webhook_deliveries_at;
DROP INDEX webhook_outbox_created;
