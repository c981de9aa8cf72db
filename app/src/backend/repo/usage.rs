//! Usage history: requests per token and UTC day (`token_usage_daily`) and the latest
//! distinct client addresses (`token_client_ips`). Written by the usage flush inside its
//! transaction; read by the token page.
//!
//! Rows are only written for tokens that still exist (a token deleted between a request and
//! the flush is skipped rather than failing the flush on its foreign key).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::{audit_events, token_client_ips, token_usage_daily, tokens};
use crate::backend::db::{dispatch, Conn};
use crate::backend::repo::audit::AuditRow;
use crate::backend::verifier::usage::SeenIp;
use crate::domain::usage::RECENT_IPS;

/// PostgreSQL statements take this many rows at a time (`unnest`), like the last-use write.
const PG_CHUNK: usize = 5_000;

/// Adds the batch's per-day counts to the stored ones.
pub async fn add_daily_counts(
    conn: &mut Conn<'_>,
    days: &HashMap<(i64, i64), i64>,
) -> QueryResult<()> {
    if days.is_empty() {
        return Ok(());
    }
    // In key order (sorted here and, after the join, by ORDER BY): concurrent flushes of
    // other processes lock rows in the same order.
    let mut rows: Vec<(i64, i64, i64)> = days.iter().map(|((t, d), n)| (*t, *d, *n)).collect();
    rows.sort_unstable();
    match conn {
        Conn::Pg(c) => {
            for chunk in rows.chunks(PG_CHUNK) {
                diesel::sql_query(
                    "INSERT INTO token_usage_daily (token_id, day, count) \
                     SELECT u.id, u.day, u.n \
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, day, n) \
                     JOIN tokens t ON t.id = u.id ORDER BY u.id, u.day \
                     ON CONFLICT (token_id, day) \
                     DO UPDATE SET count = token_usage_daily.count + excluded.count",
                )
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.0).collect::<Vec<_>>())
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.1).collect::<Vec<_>>())
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.2).collect::<Vec<_>>())
                .execute(*c)
                .await?;
            }
        }
        Conn::Sqlite(c) => {
            for (id, day, n) in rows {
                // The SELECT's WHERE keeps SQLite from reading ON CONFLICT as a join's ON.
                diesel::sql_query(
                    "INSERT INTO token_usage_daily (token_id, day, count) \
                     SELECT id, ?, ? FROM tokens WHERE id = ? \
                     ON CONFLICT (token_id, day) \
                     DO UPDATE SET count = token_usage_daily.count + excluded.count",
                )
                .bind::<BigInt, _>(day)
                .bind::<BigInt, _>(n)
                .bind::<BigInt, _>(id)
                .execute(*c)
                .await?;
            }
        }
    }
    Ok(())
}

/// Records the batch's client addresses, then keeps only the `RECENT_IPS` seen last for each
/// token in the batch.
pub async fn note_client_ips(
    conn: &mut Conn<'_>,
    ips: &HashMap<i64, Vec<SeenIp>>,
) -> QueryResult<()> {
    if ips.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<(i64, &SeenIp)> = ips
        .iter()
        .flat_map(|(id, seen)| seen.iter().map(move |s| (*id, s)))
        .collect();
    rows.sort_unstable_by(|a, b| (a.0, &a.1.ip).cmp(&(b.0, &b.1.ip)));
    const UPSERT: &str = "ON CONFLICT (token_id, ip) DO UPDATE SET \
         last_seen = excluded.last_seen, user_agent = excluded.user_agent \
         WHERE token_client_ips.last_seen <= excluded.last_seen";
    match conn {
        Conn::Pg(c) => {
            for chunk in rows.chunks(PG_CHUNK) {
                diesel::sql_query(format!(
                    "INSERT INTO token_client_ips (token_id, ip, first_seen, last_seen, user_agent) \
                     SELECT u.id, u.ip, u.first_seen, u.last_seen, u.ua \
                     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) \
                     AS u(id, ip, first_seen, last_seen, ua) \
                     JOIN tokens t ON t.id = u.id ORDER BY u.id, u.ip {UPSERT}"
                ))
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.0).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(chunk.iter().map(|r| r.1.ip.as_str()).collect::<Vec<_>>())
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.1.first_seen).collect::<Vec<_>>())
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.1.last_seen).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(
                    chunk
                        .iter()
                        .map(|r| r.1.user_agent.as_deref())
                        .collect::<Vec<_>>(),
                )
                .execute(*c)
                .await?;
            }
        }
        Conn::Sqlite(c) => {
            for (id, s) in &rows {
                diesel::sql_query(format!(
                    "INSERT INTO token_client_ips (token_id, ip, first_seen, last_seen, user_agent) \
                     SELECT id, ?, ?, ?, ? FROM tokens WHERE id = ? {UPSERT}"
                ))
                .bind::<Text, _>(s.ip.as_str())
                .bind::<BigInt, _>(s.first_seen)
                .bind::<BigInt, _>(s.last_seen)
                .bind::<Nullable<Text>, _>(s.user_agent.as_deref())
                .bind::<BigInt, _>(*id)
                .execute(*c)
                .await?;
            }
        }
    }
    // Ids are integers from the batch, written as literals.
    let mut ids: Vec<i64> = ips.keys().copied().collect();
    ids.sort_unstable();
    for chunk in ids.chunks(PG_CHUNK) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "DELETE FROM token_client_ips WHERE token_id IN ({list}) AND ip NOT IN (\
             SELECT k.ip FROM token_client_ips k WHERE k.token_id = token_client_ips.token_id \
             ORDER BY k.last_seen DESC, k.ip DESC LIMIT {RECENT_IPS})"
        );
        dispatch!(conn, |c| diesel::sql_query(sql).execute(c).await)?;
    }
    Ok(())
}

/// Deletes daily counts of days before `cutoff`.
pub async fn prune_daily(conn: &mut Conn<'_>, cutoff: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        token_usage_daily::table.filter(token_usage_daily::day.lt(cutoff))
    )
    .execute(c)
    .await)
}

/// `(day, count)` of one token from `since` on.
pub async fn daily_counts(
    conn: &mut Conn<'_>,
    token_id: i64,
    since: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    dispatch!(conn, |c| token_usage_daily::table
        .filter(token_usage_daily::token_id.eq(token_id))
        .filter(token_usage_daily::day.ge(since))
        .order(token_usage_daily::day.asc())
        .select((token_usage_daily::day, token_usage_daily::count))
        .load(c)
        .await)
}

/// A token's stored client addresses, last seen first.
pub async fn client_ips(conn: &mut Conn<'_>, token_id: i64) -> QueryResult<Vec<SeenIp>> {
    let rows: Vec<(String, i64, i64, Option<String>)> =
        dispatch!(conn, |c| token_client_ips::table
            .filter(token_client_ips::token_id.eq(token_id))
            .order((
                token_client_ips::last_seen.desc(),
                token_client_ips::ip.desc()
            ))
            .select((
                token_client_ips::ip,
                token_client_ips::first_seen,
                token_client_ips::last_seen,
                token_client_ips::user_agent,
            ))
            .load(c)
            .await)?;
    Ok(rows
        .into_iter()
        .map(|(ip, first_seen, last_seen, user_agent)| SeenIp {
            ip,
            first_seen,
            last_seen,
            user_agent,
        })
        .collect())
}

/// The newest audit records about one token, leaving out `skip_action` (the per-minute API
/// use records, which the chart sums up). Served by the `audit_events_target` index.
pub async fn audit_trail(
    conn: &mut Conn<'_>,
    token_id: i64,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    // Written out, not bound: a planner can use the partial index `audit_events_token_changes`
    // only when the query states its condition literally (`action::TOKEN_API_USE`).
    let changes =
        diesel::dsl::sql::<diesel::sql_types::Bool>("audit_events.action <> 'token.api_use'");
    dispatch!(conn, |c| audit_events::table
        .filter(audit_events::target_kind.eq("token"))
        .filter(audit_events::target_id.eq(token_id))
        .filter(changes.clone())
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(c)
        .await)
}

/// A user's live personal tokens that expire in `(now, until)`: `(id, name, expires_at)`,
/// soonest first.
pub async fn expiring_for_user(
    conn: &mut Conn<'_>,
    user_id: i64,
    now: i64,
    until: i64,
) -> QueryResult<Vec<(i64, String, i64)>> {
    let rows: Vec<(i64, String, Option<i64>)> = dispatch!(conn, |c| tokens::table
        .filter(tokens::user_id.eq(user_id))
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::expires_at.gt(now))
        .filter(tokens::expires_at.lt(until))
        .order(tokens::expires_at.asc())
        .select((tokens::id, tokens::name, tokens::expires_at))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, at)| (id, name, at.unwrap_or_default()))
        .collect())
}
