//! Token usage, written behind: verification only touches memory; a background task writes
//! the batch every few seconds (and at shutdown). Per token it keeps the latest use (time, IP,
//! user agent) and, for the audit log, a count of requests per minute: the log gets one
//! `token.api_use` event per token per minute with the number of requests.

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use serde_json::json;
use tokio::sync::Notify;

use crate::backend::db::{Conn, Db};
use crate::backend::repo::audit::{self, NewAuditEvent};
use crate::backend::service::audit::action;
use crate::domain::expiry::lifetime_cap_days;
use crate::domain::limits::MAX_LIFETIME_DAYS;
use crate::errors::AppError;

/// Flush early when this many tokens have pending usage.
const FLUSH_SOON_AT: usize = 10_000;
const UA_MAX: usize = 200;

#[derive(Debug, Clone)]
struct LastUse {
    at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(Debug, Clone)]
struct MinuteCount {
    requests: i64,
    actor: String,
    target: String,
    ip: Option<String>,
}

#[derive(Default)]
struct Batch {
    last: HashMap<i64, LastUse>,
    minutes: HashMap<(i64, i64), MinuteCount>,
}

#[derive(Default)]
pub struct UsageRecorder {
    batch: Mutex<Batch>,
    flush_soon: Notify,
}

pub struct Use<'a> {
    pub token_id: i64,
    pub at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<&'a str>,
    /// Who, for the audit log ("ci_bot via token kwsa_AbCd1234").
    pub actor: &'a str,
    pub display_prefix: &'a str,
}

impl UsageRecorder {
    pub fn record(&self, u: Use<'_>) {
        let Ok(mut batch) = self.batch.lock() else {
            return;
        };
        let user_agent = u
            .user_agent
            .map(|ua| ua.chars().take(UA_MAX).collect::<String>());
        batch.last.insert(
            u.token_id,
            LastUse {
                at: u.at,
                ip: u.ip.clone(),
                user_agent,
            },
        );
        let minute = u.at.div_euclid(60) * 60;
        let entry = batch
            .minutes
            .entry((u.token_id, minute))
            .or_insert_with(|| MinuteCount {
                requests: 0,
                actor: u.actor.to_string(),
                target: u.display_prefix.to_string(),
                ip: u.ip.clone(),
            });
        entry.requests += 1;
        if batch.last.len() >= FLUSH_SOON_AT {
            self.flush_soon.notify_one();
        }
    }

    pub async fn wanted(&self) {
        self.flush_soon.notified().await;
    }

    pub fn pending(&self) -> usize {
        self.batch.lock().map(|b| b.last.len()).unwrap_or(0)
    }

    /// Writes everything recorded so far in one transaction. On failure the batch is put
    /// back (merged with whatever arrived meanwhile) for the next attempt.
    pub async fn flush(&self, db: &Db) -> Result<usize, AppError> {
        let batch = match self.batch.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return Ok(0),
        };
        if batch.last.is_empty() && batch.minutes.is_empty() {
            return Ok(0);
        }
        let written = batch.last.len();
        let last = batch.last.clone();
        let minutes = batch.minutes.clone();
        let result = db
            .transaction(|conn| {
                Box::pin(async move {
                    let cap_days = if last.is_empty() {
                        MAX_LIFETIME_DAYS
                    } else {
                        let settings = crate::backend::service::settings::load(conn).await?;
                        lifetime_cap_days(settings.max_token_lifetime_days)
                    };
                    for (id, u) in &last {
                        write_last_use(conn, *id, u, cap_days).await?;
                    }
                    for ((id, minute), m) in &minutes {
                        let details = json!({ "requests": m.requests, "minute": crate::domain::timefmt::iso(*minute) }).to_string();
                        audit::insert(
                            conn,
                            &NewAuditEvent {
                                at: *minute,
                                actor_kind: "token",
                                actor_id: Some(*id),
                                actor_label: &m.actor,
                                action: action::TOKEN_API_USE,
                                target_kind: "token",
                                target_id: Some(*id),
                                target_label: &m.target,
                                ip: m.ip.as_deref(),
                                details: &details,
                            },
                        )
                        .await?;
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await;
        if let Err(e) = result {
            if let Ok(mut current) = self.batch.lock() {
                for (id, u) in batch.last {
                    let keep = current.last.get(&id).is_none_or(|newer| newer.at < u.at);
                    if keep {
                        current.last.insert(id, u);
                    }
                }
                for (k, m) in batch.minutes {
                    current
                        .minutes
                        .entry(k)
                        .and_modify(|c| c.requests += m.requests)
                        .or_insert(m);
                }
            }
            return Err(e);
        }
        Ok(written)
    }
}

/// Newer uses only; a sliding-expiry token's expiry moves to N days after this use, capped at
/// its creation plus the maximum lifetime (`domain::expiry::slide`).
async fn write_last_use(
    conn: &mut Conn<'_>,
    id: i64,
    u: &LastUse,
    cap_days: i64,
) -> Result<(), AppError> {
    const SQLITE: &str =
        "UPDATE tokens SET last_used_at = ?, last_used_ip = ?, last_used_user_agent = ?, \
         expires_at = CASE WHEN sliding_days IS NULL THEN expires_at \
         ELSE MIN(? + sliding_days * 86400, created_at + ? * 86400) END \
         WHERE id = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ?)";
    const POSTGRES: &str =
        "UPDATE tokens SET last_used_at = $1, last_used_ip = $2, last_used_user_agent = $3, \
         expires_at = CASE WHEN sliding_days IS NULL THEN expires_at \
         ELSE LEAST($4 + sliding_days * 86400, created_at + $5 * 86400) END \
         WHERE id = $6 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $7)";
    macro_rules! query {
        ($sql:expr) => {
            diesel::sql_query($sql)
                .bind::<BigInt, _>(u.at)
                .bind::<Nullable<Text>, _>(u.ip.as_deref())
                .bind::<Nullable<Text>, _>(u.user_agent.as_deref())
                .bind::<BigInt, _>(u.at)
                .bind::<BigInt, _>(cap_days)
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
