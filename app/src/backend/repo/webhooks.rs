//! Webhook endpoints, the outbox and the delivery log.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::{webhook_deliveries, webhook_endpoints, webhook_outbox};
use crate::backend::db::{dispatch, Conn};

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub events: String,
    pub secret_sealed: Vec<u8>,
    pub secret_hint: String,
    pub enabled: bool,
    pub created_at: i64,
    pub created_by_label: String,
    pub failing_since: Option<i64>,
}

/// The sealed secret stays out of `Debug` (it is not the secret, but has no business in logs).
impl std::fmt::Debug for EndpointRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a str,
    pub secret_sealed: &'a [u8],
    pub secret_hint: &'a str,
    pub enabled: bool,
    pub created_at: i64,
    pub created_by_label: &'a str,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: Option<i64>,
    pub claimed_until: Option<i64>,
    pub delivered_at: Option<i64>,
    pub gave_up_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_outbox)]
pub struct NewOutbox {
    pub endpoint_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: i64,
    pub next_attempt_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub outbox_id: i64,
    pub endpoint_id: i64,
    pub at: i64,
    pub event_type: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub next_retry_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery<'a> {
    pub outbox_id: i64,
    pub endpoint_id: i64,
    pub at: i64,
    pub event_type: &'a str,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub latency_ms: i64,
    pub next_retry_at: Option<i64>,
}

pub async fn insert_endpoint(
    conn: &mut Conn<'_>,
    new: &NewEndpoint<'_>,
) -> QueryResult<EndpointRow> {
    dispatch!(conn, |c| diesel::insert_into(webhook_endpoints::table)
        .values(new)
        .returning(EndpointRow::as_returning())
        .get_result(c)
        .await)
}

pub async fn list_endpoints(conn: &mut Conn<'_>) -> QueryResult<Vec<EndpointRow>> {
    dispatch!(conn, |c| webhook_endpoints::table
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select())
        .load(c)
        .await)
}

pub async fn find_endpoint(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<EndpointRow>> {
    dispatch!(conn, |c| webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(c)
        .await
        .optional())
}

/// The enabled endpoints and the events each wants (the outbox fans an event out to them).
pub async fn enabled_subscriptions(conn: &mut Conn<'_>) -> QueryResult<Vec<(i64, String)>> {
    dispatch!(conn, |c| webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .order(webhook_endpoints::id)
        .select((webhook_endpoints::id, webhook_endpoints::events))
        .load(c)
        .await)
}

pub async fn set_enabled(conn: &mut Conn<'_>, id: i64, enabled: bool) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::enabled.eq(enabled),
            webhook_endpoints::failing_since.eq(None::<i64>),
        ))
        .execute(c)
        .await)
}

/// Deletes the endpoint with its outbox rows and delivery log.
pub async fn delete_endpoint(conn: &mut Conn<'_>, id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| {
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)))
            .execute(c)
            .await?;
        diesel::delete(webhook_outbox::table.filter(webhook_outbox::endpoint_id.eq(id)))
            .execute(c)
            .await?;
        diesel::delete(webhook_endpoints::table.find(id))
            .execute(c)
            .await
    })
}

/// Disables the enabled endpoints failing since before `cutoff` (their `failing_since` stays,
/// for the page's banner) and returns them. A row updated by one process is no longer
/// selected by another, so each is reported, and audited, once.
pub async fn disable_failing(conn: &mut Conn<'_>, cutoff: i64) -> QueryResult<Vec<(i64, String)>> {
    dispatch!(conn, |c| diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::enabled.eq(true))
            .filter(webhook_endpoints::failing_since.lt(cutoff))
    )
    .set(webhook_endpoints::enabled.eq(false))
    .returning((webhook_endpoints::id, webhook_endpoints::url))
    .get_results(c)
    .await)
}

/// Retention: delivery log entries older than `cutoff`, and events created before it (with
/// what is left of their log). An event is retried for 24 hours at most, so at 30 days it is
/// delivered, given up, or waiting for an endpoint that stayed disabled.
pub async fn prune(conn: &mut Conn<'_>, cutoff: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| {
        let old = webhook_outbox::table
            .filter(webhook_outbox::created_at.lt(cutoff))
            .select(webhook_outbox::id);
        let log = diesel::delete(
            webhook_deliveries::table.filter(
                webhook_deliveries::at
                    .lt(cutoff)
                    .or(webhook_deliveries::outbox_id.eq_any(old)),
            ),
        )
        .execute(c)
        .await?;
        let events =
            diesel::delete(webhook_outbox::table.filter(webhook_outbox::created_at.lt(cutoff)))
                .execute(c)
                .await?;
        Ok(log + events)
    })
}

/// Writes events. On PostgreSQL in multi-row statements (a bulk revoke can announce thousands
/// of tokens to several endpoints, and each statement is a round trip); SQLite runs in-process,
/// so a statement per row costs no round trip.
pub async fn insert_outbox(conn: &mut Conn<'_>, rows: &[NewOutbox]) -> QueryResult<usize> {
    let mut written = 0;
    match conn {
        Conn::Pg(c) => {
            for chunk in rows.chunks(500) {
                written += diesel::insert_into(webhook_outbox::table)
                    .values(chunk)
                    .execute(*c)
                    .await?;
            }
        }
        Conn::Sqlite(c) => {
            for row in rows {
                written += diesel::insert_into(webhook_outbox::table)
                    .values(row)
                    .execute(*c)
                    .await?;
            }
        }
    }
    Ok(written)
}

/// Rows of one endpoint a round takes at most (see `claim_due`).
pub const PER_ENDPOINT: i64 = 4;

/// Takes up to `limit` due rows of enabled endpoints for this worker until `lease_until`, in one
/// statement (its own short transaction). PostgreSQL skips rows another worker is claiming at
/// the same moment (`FOR UPDATE SKIP LOCKED`); SQLite runs one writer at a time, so the
/// conditional UPDATE alone decides. A row whose lease ran out (a worker died mid-attempt) is
/// due again.
pub async fn claim_due(
    conn: &mut Conn<'_>,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    // At most `PER_ENDPOINT` rows of one endpoint per round: an endpoint that hangs (each
    // attempt waits out the timeout) with a backlog would otherwise fill every round, and the
    // other endpoints' events would wait behind it.
    const DUE: &str = "SELECT o.id FROM webhook_outbox o \
         JOIN webhook_endpoints e ON e.id = o.endpoint_id AND e.enabled \
         WHERE o.next_attempt_at IS NOT NULL AND o.next_attempt_at <= $1 \
           AND (o.claimed_until IS NULL OR o.claimed_until <= $1) \
           AND o.id IN (SELECT ranked.id FROM (SELECT w.id, ROW_NUMBER() OVER \
               (PARTITION BY w.endpoint_id ORDER BY w.next_attempt_at, w.id) AS n \
               FROM webhook_outbox w \
               WHERE w.next_attempt_at IS NOT NULL AND w.next_attempt_at <= $1 \
                 AND (w.claimed_until IS NULL OR w.claimed_until <= $1)) ranked \
             WHERE ranked.n <= $4) \
         ORDER BY o.next_attempt_at, o.id LIMIT $3";
    let returning = "RETURNING id, endpoint_id, message_id, event_type, payload, created_at, \
         attempts, next_attempt_at, claimed_until, delivered_at, gave_up_at";
    match conn {
        Conn::Pg(c) => {
            diesel::sql_query(format!(
                "UPDATE webhook_outbox SET claimed_until = $2 WHERE id IN \
                 ({DUE} FOR UPDATE OF o SKIP LOCKED) {returning}"
            ))
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(lease_until)
            .bind::<BigInt, _>(limit)
            .bind::<BigInt, _>(PER_ENDPOINT)
            .load(*c)
            .await
        }
        Conn::Sqlite(c) => {
            // `?n` is SQLite's numbered parameter (its `$n` would be a named one, numbered by
            // first appearance).
            diesel::sql_query(
                format!(
                    "UPDATE webhook_outbox SET claimed_until = $2 WHERE id IN ({DUE}) {returning}"
                )
                .replace('$', "?"),
            )
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(lease_until)
            .bind::<BigInt, _>(limit)
            .bind::<BigInt, _>(PER_ENDPOINT)
            .load(*c)
            .await
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    RetryAt(i64),
    GaveUp,
}

/// Records an attempt made under the lease `lease_until`: the row's state, the delivery log
/// entry and the endpoint's failing-since mark, together.
pub async fn record_attempt(
    conn: &mut Conn<'_>,
    row: &OutboxRow,
    outcome: Outcome,
    delivery: &NewDelivery<'_>,
) -> QueryResult<()> {
    let now = delivery.at;
    let (next, delivered, gave_up) = match outcome {
        Outcome::Delivered => (None, Some(now), None),
        Outcome::RetryAt(at) => (Some(at), None, None),
        Outcome::GaveUp => (None, None, Some(now)),
    };
    dispatch!(conn, |c| {
        // Only under the lease this attempt was made with: if it ran out and the row was
        // claimed again, or an Admin asked to redeliver, their state stands (the attempt is
        // still logged).
        diesel::update(webhook_outbox::table.find(row.id))
            .filter(webhook_outbox::claimed_until.eq(row.claimed_until))
            .set((
                webhook_outbox::attempts.eq(delivery.attempt),
                webhook_outbox::next_attempt_at.eq(next),
                webhook_outbox::claimed_until.eq(None::<i64>),
                webhook_outbox::delivered_at.eq(delivered),
                webhook_outbox::gave_up_at.eq(gave_up),
            ))
            .execute(c)
            .await?;
        diesel::insert_into(webhook_deliveries::table)
            .values(delivery)
            .execute(c)
            .await?;
        let endpoint = webhook_endpoints::table.find(row.endpoint_id);
        if outcome == Outcome::Delivered {
            diesel::update(endpoint)
                .set(webhook_endpoints::failing_since.eq(None::<i64>))
                .execute(c)
                .await?;
        } else {
            diesel::update(endpoint.filter(webhook_endpoints::failing_since.is_null()))
                .set(webhook_endpoints::failing_since.eq(Some(now)))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}

/// The newest attempts of an endpoint.
pub async fn list_deliveries(
    conn: &mut Conn<'_>,
    endpoint_id: i64,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    dispatch!(conn, |c| webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(c)
        .await)
}

/// The state columns of the events `ids` (id, delivered_at, gave_up_at).
pub async fn outbox_states(
    conn: &mut Conn<'_>,
    ids: &[i64],
) -> QueryResult<Vec<(i64, Option<i64>, Option<i64>)>> {
    dispatch!(conn, |c| webhook_outbox::table
        .filter(webhook_outbox::id.eq_any(ids.to_vec()))
        .select((
            webhook_outbox::id,
            webhook_outbox::delivered_at,
            webhook_outbox::gave_up_at
        ))
        .load(c)
        .await)
}

pub async fn find_outbox(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<OutboxRow>> {
    dispatch!(conn, |c| webhook_outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(c)
        .await
        .optional())
}

/// Makes an event due again now (redeliver): a fresh day of retries from `now`.
pub async fn redeliver(conn: &mut Conn<'_>, id: i64, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(webhook_outbox::table.find(id))
        .filter(
            webhook_outbox::claimed_until
                .is_null()
                .or(webhook_outbox::claimed_until.le(now)),
        )
        .set((
            webhook_outbox::next_attempt_at.eq(Some(now)),
            webhook_outbox::claimed_until.eq(None::<i64>),
            webhook_outbox::gave_up_at.eq(None::<i64>),
            webhook_outbox::delivered_at.eq(None::<i64>),
            webhook_outbox::created_at.eq(now),
        ))
        .execute(c)
        .await)
}
