//! Bearer verification, fast without being stale. The verifier owns everything it decides
//! with and depends only on a `TokenStore` (implemented over the database in
//! `repo::token_store`), a clock and the server key:
//! - `verify`: the checks, in order;
//! - `cache`: token id → everything needed to decide, dropped whenever the store's auth epoch
//!   moves (polled every 200 ms) and not trusted at all when the last successful poll is more
//!   than a second old; a load that raced a change is never cached;
//! - `usage`: last-used time, IP and user agent, and per-minute request counts for the audit
//!   log, kept in memory and written in batches (never a write per request);
//! - `rate`: per-token requests-per-minute limits (GCRA), counted in this process.

pub mod cache;
pub mod rate;
pub mod usage;
pub mod verify;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use self::cache::{CachedToken, TokenCache};
use self::rate::RateLimiter;
use self::usage::{UsageBatch, UsageRecorder};
pub use self::verify::{Purpose, Verified};
use super::crypto::ServerKey;
use crate::errors::AppError;

/// How often each process checks the auth epoch.
pub const EPOCH_POLL: Duration = Duration::from_millis(200);
/// A cache entry is only used if the epoch was confirmed this recently.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);
/// How often usage is written.
pub const USAGE_FLUSH: Duration = Duration::from_secs(20);

/// What the verifier needs from storage, and nothing more.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The auth epoch: bumped in the same transaction as any change cached tokens depend on.
    async fn epoch(&self) -> Result<i64, AppError>;
    /// One token and its owner, by public id.
    async fn load(&self, public_id: &str) -> Result<Option<CachedToken>, AppError>;
    /// Writes a usage batch (last uses, sliding expiries, per-minute audit events, daily
    /// counts and client addresses) at once.
    async fn write_usage(&self, batch: &UsageBatch) -> Result<(), AppError>;
}

pub struct AuthRuntime {
    pub cache: TokenCache,
    pub usage: UsageRecorder,
    pub limits: RateLimiter,
    /// Public leak reports, per client IP.
    pub leak_reports: RateLimiter<String>,
    store: Arc<dyn TokenStore>,
    key: Arc<ServerKey>,
    clock: fn() -> i64,
    /// When usage was last written successfully (Unix seconds; start-up before the first).
    flushed_at: AtomicI64,
    /// One flush at a time, held by the task that writes (see `flush_usage`).
    flushing: Arc<tokio::sync::Mutex<()>>,
}

impl AuthRuntime {
    pub fn new(store: Arc<dyn TokenStore>, key: Arc<ServerKey>, clock: fn() -> i64) -> Self {
        Self {
            cache: TokenCache::default(),
            usage: UsageRecorder::default(),
            limits: RateLimiter::default(),
            // Keyed by address (an IPv6 /64): anonymous callers mint keys, so fewer of them.
            leak_reports: RateLimiter::with_capacity(100_000),
            store,
            key,
            clock,
            flushed_at: AtomicI64::new(clock()),
            flushing: Arc::default(),
        }
    }

    /// Called by this process right after it changed something tokens depend on: it sees the
    /// change at once; other processes see it at their next epoch poll.
    pub fn invalidate(&self) {
        self.cache.clear();
    }

    /// Polls the epoch forever.
    pub async fn watch_epoch(self: Arc<Self>) {
        let mut tick = tokio::time::interval(EPOCH_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.store.epoch().await {
                Ok(e) => self.cache.observe_epoch(e),
                Err(_) => tracing::debug!(
                    "auth epoch poll failed; the token cache is bypassed until it succeeds"
                ),
            }
        }
    }

    /// Writes what usage has been recorded.
    ///
    /// The write runs as a task of its own, holding the flush lock: when the caller is dropped
    /// (the periodic writer is aborted at shutdown) the transaction still finishes rather than
    /// leave a pooled connection idle in a transaction that holds row locks (the shutdown
    /// flush then waited on those locks forever, and the taken batch was lost), and the
    /// shutdown flush waits for it before writing what came after.
    pub async fn flush_usage(self: &Arc<Self>) -> Result<usize, AppError> {
        let started = std::time::Instant::now();
        let this = self.clone();
        let result = tokio::spawn(async move {
            let _one_at_a_time = this.flushing.clone().lock_owned().await;
            this.usage.flush(this.store.as_ref()).await
        })
        .await
        .unwrap_or_else(|e| Err(crate::backend::error_map::internal("usage flush", &e)));
        match &result {
            Ok(_) => {
                self.flushed_at.store((self.clock)(), Ordering::Release);
                metrics::histogram!("keyward_usage_flush_duration_seconds")
                    .record(started.elapsed().as_secs_f64());
            }
            Err(_) => metrics::counter!("keyward_usage_flush_failures_total").increment(1),
        }
        result
    }

    /// Seconds since usage was last written: how far behind the last-used columns may be.
    pub fn usage_flush_lag_secs(&self) -> i64 {
        ((self.clock)() - self.flushed_at.load(Ordering::Acquire)).max(0)
    }

    /// Writes usage every few seconds (sooner when a lot piles up), forever.
    pub async fn flush_usage_forever(self: Arc<Self>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(USAGE_FLUSH) => {},
                _ = self.usage.wanted() => {},
            }
            if let Err(e) = self.flush_usage().await {
                tracing::warn!(error = %e, "could not write token usage; will retry");
            }
        }
    }
}
