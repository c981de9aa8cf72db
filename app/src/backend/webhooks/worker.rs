//! The delivery worker: a task per process. Each round claims due outbox rows with a lease in
//! one short statement, sends them with no database connection held, and records each
//! attempt. Several processes on one PostgreSQL share the work: a claimed row is skipped by
//! the others until its lease runs out (a worker that died mid-attempt), so each attempt is
//! made by one process and every event is delivered at least once, with the same
//! `webhook-id` on every attempt.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use super::send::{self, Message, TIMEOUT};
use super::WAKE;
use crate::backend::clock::Clock;
use crate::backend::crypto::ServerKey;
use crate::backend::db::{Db, DbError};
use crate::backend::repo::webhooks::{self as repo, NewDelivery, OutboxRow, Outcome};
use crate::backend::service::audit::{self, action, Target};
use crate::backend::service::stale_policy;
use crate::domain::webhook::next_attempt;
use crate::errors::AppError;
use serde_json::json;

/// Rows one round takes at most.
const BATCH: i64 = 16;
/// How long a claim stands: longer than an attempt can take.
const LEASE_SECS: i64 = TIMEOUT.as_secs() as i64 * 3;
/// Poll interval when nothing wakes the worker (events written by another process).
const POLL: Duration = Duration::from_secs(2);
/// How often a process runs the housekeeping (`housekeep`): idempotent, so several processes
/// doing it is harmless.
const HOUSEKEEPING: Duration = Duration::from_secs(3600);
/// How often a process scans for expiry events (`scan_expiry`): each notice is sent once
/// whichever process finds it first.
const EXPIRY_SCAN: Duration = Duration::from_secs(60);
/// How often a process runs the stale-token policy (`apply_stale_policy`): each token is
/// warned and revoked once whichever process gets there first, so the "daily job" may run
/// hourly, and a policy turned on acts within the hour.
const STALE_POLICY: Duration = Duration::from_secs(3600);
/// An endpoint whose every attempt failed for this long is disabled (issue 14).
pub const DISABLE_AFTER_SECS: i64 = 3 * 86_400;
/// Events and the delivery log are kept this long.
pub const RETENTION_SECS: i64 = 30 * 86_400;

/// What one housekeeping pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Housekeeping {
    /// Endpoints disabled for failing too long.
    pub disabled: Vec<i64>,
    /// Rows pruned (log entries and finished events).
    pub pruned: usize,
}

#[derive(Clone)]
pub struct Worker {
    pub db: Db,
    pub key: Arc<ServerKey>,
    pub clock: Clock,
    pub allow_private: bool,
    /// Put in front of the payload's relative `link`.
    pub base_url: String,
}

impl Worker {
    /// Runs rounds until the task is aborted. An abort in the middle of an attempt leaves the
    /// row claimed; its lease runs out and the attempt is made again (at least once).
    pub async fn run(self) {
        let mut housekept: Option<std::time::Instant> = None;
        let mut scanned: Option<std::time::Instant> = None;
        let mut policed: Option<std::time::Instant> = None;
        loop {
            if housekept.is_none_or(|t| t.elapsed() >= HOUSEKEEPING) {
                housekept = Some(std::time::Instant::now());
                if let Err(e) = self.housekeep().await {
                    tracing::warn!(error = %e, "webhook housekeeping: database error");
                }
            }
            if scanned.is_none_or(|t| t.elapsed() >= EXPIRY_SCAN) {
                scanned = Some(std::time::Instant::now());
                if let Err(e) = self.scan_expiry().await {
                    tracing::warn!(error = %e, "webhook expiry scan: database error");
                }
            }
            if policed.is_none_or(|t| t.elapsed() >= STALE_POLICY) {
                policed = Some(std::time::Instant::now());
                match self.apply_stale_policy().await {
                    Ok(run) if !run.warned.is_empty() || !run.revoked.is_empty() => {
                        tracing::info!(
                            warned = run.warned.len(),
                            revoked = run.revoked.len(),
                            "stale-token policy"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "stale-token policy: database error"),
                }
            }
            let wake = WAKE.notified();
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery: database error"),
            }
            let _ = tokio::time::timeout(POLL, wake).await;
        }
    }

    /// Disables endpoints failing for `DISABLE_AFTER_SECS` (with an audit record each, by
    /// Keyward itself) and prunes what is older than `RETENTION_SECS`.
    pub async fn housekeep(&self) -> Result<Housekeeping, AppError> {
        let now = self.clock.now();
        let disabled = self
            .db
            .transaction(|conn| {
                Box::pin(async move {
                    let rows = repo::disable_failing(conn, now - DISABLE_AFTER_SECS).await?;
                    for (id, url) in &rows {
                        audit::record_system(
                            conn,
                            action::WEBHOOK_UPDATE,
                            Target {
                                kind: "webhook",
                                id: Some(*id),
                                label: &crate::domain::webhook::url_label(url),
                            },
                            json!({ "enabled": false, "reason": "failing for 3 days" }),
                        )
                        .await?;
                    }
                    Ok::<_, AppError>(rows.into_iter().map(|(id, _)| id).collect::<Vec<_>>())
                })
            })
            .await?;
        for id in &disabled {
            tracing::warn!(
                endpoint = id,
                "webhook endpoint disabled: every attempt failed for 3 days"
            );
        }
        let pruned = {
            let mut pooled = self.db.get_writer().await?;
            repo::prune(&mut pooled.conn(), now - RETENTION_SECS).await?
        };
        Ok(Housekeeping { disabled, pruned })
    }

    /// The stale-token policy's job (`service::stale_policy::run`).
    pub async fn apply_stale_policy(&self) -> Result<stale_policy::Run, AppError> {
        stale_policy::run(&self.db, &self.clock).await
    }

    /// Writes the `token.expiring` / `token.expired` events due now, in one short
    /// transaction (`expiry::scan`). Returns how many were written.
    pub async fn scan_expiry(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        self.db
            .transaction(|conn| {
                Box::pin(async move { Ok::<_, AppError>(super::expiry::scan(conn, now).await?) })
            })
            .await
    }

    /// One round: claims due rows and attempts each. Returns how many were attempted.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let claimed = {
            let mut pooled = self.db.get_writer().await?;
            repo::claim_due(&mut pooled.conn(), now, now + LEASE_SECS, BATCH).await?
        };
        let n = claimed.len();
        let attempts = claimed.into_iter().map(|row| self.attempt(row));
        for result in futures::future::join_all(attempts).await {
            result?;
        }
        Ok(n)
    }

    async fn attempt(&self, row: OutboxRow) -> Result<(), DbError> {
        let endpoint = {
            let mut pooled = self.db.get().await?;
            repo::find_endpoint(&mut pooled.conn(), row.endpoint_id).await?
        };
        let Some(endpoint) = endpoint else {
            return Ok(()); // deleted meanwhile: its rows went with it
        };
        let body = self.absolute_links(&row.payload);
        let result = match self.key.open_webhook_secret(&endpoint.secret_sealed) {
            Some(secret) => {
                send::send(
                    &Message {
                        url: &endpoint.url,
                        id: &row.message_id,
                        timestamp: self.clock.now(),
                        body: &body,
                        secret: &secret,
                    },
                    self.allow_private,
                )
                .await
            }
            None => send::Attempt {
                status: None,
                error: Some("secret"),
                latency_ms: 0,
            },
        };
        let now = self.clock.now();
        let attempt = row.attempts + 1;
        let outcome = if result.delivered() {
            Outcome::Delivered
        } else {
            let jitter = rand::thread_rng().gen::<f64>();
            match next_attempt(row.created_at, now, attempt, jitter) {
                Some(at) => Outcome::RetryAt(at),
                None => Outcome::GaveUp,
            }
        };
        tracing::debug!(
            endpoint = endpoint.id,
            event = %row.event_type,
            status = result.status,
            error = result.error,
            attempt,
            "webhook attempt"
        );
        let next_retry_at = match outcome {
            Outcome::RetryAt(at) => Some(at),
            _ => None,
        };
        self.db
            .transaction(|conn| {
                Box::pin(async move {
                    let delivery = NewDelivery {
                        outbox_id: row.id,
                        endpoint_id: row.endpoint_id,
                        at: now,
                        event_type: &row.event_type,
                        attempt,
                        status_code: result.status.map(i32::from),
                        error: result.error,
                        latency_ms: result.latency_ms,
                        next_retry_at,
                    };
                    repo::record_attempt(conn, &row, outcome, &delivery).await?;
                    Ok::<_, DbError>(())
                })
            })
            .await
    }

    fn absolute_links(&self, payload: &str) -> String {
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(payload) else {
            return payload.to_string();
        };
        if let Some(link) = value["data"]["link"].as_str() {
            if link.starts_with('/') {
                value["data"]["link"] =
                    format!("{}{link}", self.base_url.trim_end_matches('/')).into();
            }
        }
        value.to_string()
    }
}
