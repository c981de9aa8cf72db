//! The database behind the verifier (`verifier::TokenStore`): the auth epoch, one token with
//! its owner, and the usage batch.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::audit::{self, NewAuditEvent};
use super::{epoch, settings, tokens, usage};
use crate::backend::audit_action as action;
use crate::backend::db::{Conn, Db};
use crate::backend::principal::Subject;
use crate::backend::verifier::cache::CachedToken;
use crate::backend::verifier::usage::{LastUse, UsageBatch};
use crate::backend::verifier::TokenStore;
use crate::domain::cidr::parse_allowlist;
use crate::domain::expiry::lifetime_cap_days;
use crate::domain::limits::DEFAULT_RATE_LIMIT_PER_MINUTE;
use crate::domain::token_format::TokenKind;
use crate::domain::Role;
use crate::errors::AppError;
use crate::model::RevokeReason;

#[derive(Clone)]
pub struct DbTokenStore {
    db: Db,
    /// The UTC day (midnight) this process last pruned old daily counts on: once a day is
    /// enough, and the prune's delete then runs in one flush a day, not in every one.
    pruned_day: Arc<AtomicI64>,
}

impl DbTokenStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            pruned_day: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }
}

async fn setting_i64(conn: &mut Conn<'_>, key: &str) -> Result<Option<i64>, AppError> {
    Ok(settings::get(conn, key)
        .await?
        .and_then(|v| v.parse::<i64>().ok()))
}

#[async_trait]
impl TokenStore for DbTokenStore {
    async fn epoch(&self) -> Result<i64, AppError> {
        let mut pooled = self.db.get().await?;
        Ok(epoch::get(&mut pooled.conn()).await?)
    }

    async fn load(&self, public_id: &str) -> Result<Option<CachedToken>, AppError> {
        let mut pooled = self.db.get().await?;
        let mut conn = pooled.conn();
        let Some((row, sa, user)) =
            tokens::find_with_owner_by_public_id(&mut conn, public_id).await?
        else {
            return Ok(None);
        };
        let default_rate = setting_i64(&mut conn, settings::DEFAULT_RATE_LIMIT)
            .await?
            .unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE);
        let (subject, owner_name, role, disabled, gone, can_introspect) = match (&sa, &user) {
            (Some((name, role, disabled, deleted, introspect)), _) => (
                Subject::ServiceAccount {
                    id: row.service_account_id.unwrap_or_default(),
                    name: name.clone(),
                },
                name.clone(),
                role.clone(),
                disabled.is_some(),
                deleted.is_some(),
                *introspect,
            ),
            (None, Some((email, _, role, deactivated, removed))) => (
                Subject::User {
                    id: row.user_id.unwrap_or_default(),
                    email: email.clone(),
                },
                email.clone(),
                role.clone(),
                deactivated.is_some(),
                removed.is_some(),
                false,
            ),
            (None, None) => return Ok(None),
        };
        Ok(Some(CachedToken {
            token_id: row.id,
            kind: TokenKind::parse(&row.kind).unwrap_or(TokenKind::Personal),
            name: row.name,
            display_prefix: row.display_prefix,
            secret_hash: row.secret_hash,
            previous: row.previous_secret_hash.zip(row.previous_secret_expires_at),
            created_at: row.created_at,
            expires_at: row.expires_at,
            sliding_days: row.sliding_days.map(i64::from),
            revoked: row
                .revoke_reason
                .as_deref()
                .and_then(RevokeReason::parse)
                .or(row.revoked_at.map(|_| RevokeReason::Manual)),
            subject,
            owner_name,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            owner_disabled: disabled,
            owner_gone: gone,
            can_introspect,
            // Stored allowlists were normalised by the same parser; should one ever fail to
            // parse, fail closed: an allowlist nothing matches.
            allowed: parse_allowlist(&row.allowed_cidrs).unwrap_or_else(|e| {
                tracing::error!(token_id = row.id, error = %e, "unreadable IP allowlist; refusing every address");
                vec![ipnet::IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::BROADCAST, 32).expect("valid prefix"))]
            }),
            rate_limit_per_minute: row
                .rate_limit_per_minute
                .map(i64::from)
                .unwrap_or(default_rate),
        }))
    }

    async fn write_usage(&self, batch: &UsageBatch) -> Result<(), AppError> {
        let batch = batch.clone();
        let today = crate::domain::usage::day_of(crate::domain::timefmt::now());
        let prune = AtomicI64::load(&self.pruned_day, Ordering::Acquire) < today;
        self.db
            .transaction(|conn| {
                Box::pin(async move {
                    let cap_days = if batch.last.is_empty() {
                        lifetime_cap_days(None)
                    } else {
                        lifetime_cap_days(
                            setting_i64(conn, settings::MAX_TOKEN_LIFETIME_DAYS).await?,
                        )
                    };
                    write_last_uses(conn, &batch.last).await?;
                    let ids: Vec<i64> = batch.last.keys().copied().collect();
                    slide_expiry(conn, &ids, cap_days).await?;
                    let details: Vec<String> = batch
                        .minutes
                        .iter()
                        .map(|((_, minute), m)| {
                            json!({ "requests": m.requests, "minute": crate::domain::timefmt::iso(*minute) })
                                .to_string()
                        })
                        .collect();
                    let events: Vec<NewAuditEvent> = batch
                        .minutes
                        .iter()
                        .zip(&details)
                        .map(|(((id, minute), m), details)| NewAuditEvent {
                            at: *minute,
                            actor_kind: "token",
                            actor_id: Some(*id),
                            actor_label: &m.actor,
                            action: action::TOKEN_API_USE,
                            target_kind: "token",
                            target_id: Some(*id),
                            target_label: &m.target,
                            ip: m.ip.as_deref(),
                            details,
                            // Many requests in one record, written in the background.
                            request_id: None,
                        })
                        .collect();
                    audit::insert_many(conn, &events).await?;
                    usage::add_daily_counts(conn, &batch.days).await?;
                    usage::note_client_ips(conn, &batch.ips).await?;
                    if prune {
                        usage::prune_daily(conn, crate::domain::usage::prune_before(today))
                            .await?;
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        if prune {
            self.pruned_day.store(today, Ordering::Release);
        }
        Ok(())
    }
}

/// The batch's latest uses. On PostgreSQL in statements of 5,000 rows (`unnest`): a flush of a
/// busy minute touches tens of thousands of tokens, and a round trip each made the flush take
/// a core away from verification (BENCHMARKS.md, "a million tokens"). SQLite runs in-process,
/// where a prepared statement per row costs no round trip.
async fn write_last_uses(
    conn: &mut Conn<'_>,
    last: &std::collections::HashMap<i64, LastUse>,
) -> Result<(), AppError> {
    if let Conn::Pg(c) = conn {
        // In id order: two writers (another process's flush, a bulk revoke) that lock rows in
        // the same order cannot deadlock.
        let mut rows: Vec<(&i64, &LastUse)> = last.iter().collect();
        rows.sort_unstable_by_key(|(id, _)| **id);
        for chunk in rows.chunks(5_000) {
            diesel::sql_query(
                "UPDATE tokens t SET last_used_at = u.at, last_used_ip = u.ip, \
                 last_used_user_agent = u.ua \
                 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u(id, at, ip, ua) \
                 WHERE t.id = u.id AND t.revoked_at IS NULL \
                 AND (t.last_used_at IS NULL OR t.last_used_at <= u.at)",
            )
            .bind::<Array<BigInt>, _>(chunk.iter().map(|(id, _)| **id).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(chunk.iter().map(|(_, u)| u.at).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(
                chunk.iter().map(|(_, u)| u.ip.as_deref()).collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Text>>, _>(
                chunk
                    .iter()
                    .map(|(_, u)| u.user_agent.as_deref())
                    .collect::<Vec<_>>(),
            )
            .execute(*c)
            .await?;
        }
        return Ok(());
    }
    for (id, u) in last {
        write_last_use(conn, *id, u).await?;
    }
    Ok(())
}

/// Newer uses only.
///
/// Only the use columns: SQLite decides which indexes an UPDATE maintains from the columns it
/// sets, and the expiry is in all nine token-table list indexes, so the sliding expiry is
/// moved by `slide_expiry` for the sliding tokens alone.
async fn write_last_use(conn: &mut Conn<'_>, id: i64, u: &LastUse) -> Result<(), AppError> {
    const SQLITE: &str =
        "UPDATE tokens SET last_used_at = ?, last_used_ip = ?, last_used_user_agent = ? \
         WHERE id = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ?)";
    const POSTGRES: &str =
        "UPDATE tokens SET last_used_at = $1, last_used_ip = $2, last_used_user_agent = $3 \
         WHERE id = $4 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $5)";
    macro_rules! query {
        ($sql:expr) => {
            diesel::sql_query($sql)
                .bind::<BigInt, _>(u.at)
                .bind::<Nullable<Text>, _>(u.ip.as_deref())
                .bind::<Nullable<Text>, _>(u.user_agent.as_deref())
                .bind::<BigInt, _>(id)
                .bind::<BigInt, _>(u.at)
        };
    }
    match conn {
        Conn::Sqlite(c) => query!(SQLITE).execute(*c).await?,
        Conn::Pg(c) => query!(POSTGRES).execute(*c).await?,
    };
    Ok(())
}

/// A sliding-expiry token's expiry moves to N days after its latest use, capped at its
/// creation plus the maximum lifetime (`domain::expiry::slide`); one statement for the batch.
async fn slide_expiry(conn: &mut Conn<'_>, ids: &[i64], cap_days: i64) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    // Ids are integers from the batch, written as literals.
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = |least: &str| {
        format!(
            "UPDATE tokens SET expires_at = {least}(last_used_at + sliding_days * 86400, created_at + {cap_days} * 86400) \
             WHERE id IN ({list}) AND sliding_days IS NOT NULL AND revoked_at IS NULL AND last_used_at IS NOT NULL"
        )
    };
    match conn {
        Conn::Sqlite(c) => diesel::sql_query(sql("MIN")).execute(*c).await?,
        Conn::Pg(c) => diesel::sql_query(sql("LEAST")).execute(*c).await?,
    };
    Ok(())
}
