//! What makes bearer verification fast without making it stale:
//! - `cache`: token id → everything needed to decide, dropped whenever the database's auth
//!   epoch moves (polled every 200 ms) and not trusted at all when the last successful poll is
//!   more than a second old;
//! - `usage`: last-used time, IP and user agent, and per-minute request counts for the audit
//!   log, kept in memory and written in batches (never a write per request);
//! - `rate`: per-token requests-per-minute limits, counted in this process.

pub mod cache;
pub mod rate;
pub mod usage;

use std::sync::Arc;
use std::time::Duration;

use self::cache::TokenCache;
use self::rate::RateLimiter;
use self::usage::UsageRecorder;
use super::db::Db;
use super::repo::epoch;

/// How often each process checks the auth epoch.
pub const EPOCH_POLL: Duration = Duration::from_millis(200);
/// A cache entry is only used if the epoch was confirmed this recently.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);
/// How often usage is written.
pub const USAGE_FLUSH: Duration = Duration::from_secs(20);

#[derive(Default)]
pub struct AuthRuntime {
    pub cache: TokenCache,
    pub usage: UsageRecorder,
    pub limits: RateLimiter,
    /// Public leak reports, per client IP.
    pub leak_reports: RateLimiter<String>,
    /// Lets a test hold a token load open (see `LoadHold`).
    pub load_hold: LoadHold,
}

type Hold = (
    tokio::sync::oneshot::Sender<()>,
    tokio::sync::oneshot::Receiver<()>,
);

/// A test's grip on the next token load, between reading the database and filling the cache:
/// the window of the cache-fill race, which a test can then open deterministically. Nothing
/// in the product sets it; an empty hold costs one uncontended lock per cache miss.
#[derive(Default)]
pub struct LoadHold(std::sync::Mutex<Option<Hold>>);

impl LoadHold {
    /// Holds the next load: the first channel says it has read the database, sending on
    /// the second lets it go on.
    pub fn hold_next(
        &self,
    ) -> (
        tokio::sync::oneshot::Receiver<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let (reached_tx, reached_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((reached_tx, release_rx));
        }
        (reached_rx, release_tx)
    }

    pub(crate) async fn pause_here(&self) {
        let hold = self.0.lock().ok().and_then(|mut slot| slot.take());
        if let Some((reached, release)) = hold {
            let _ = reached.send(());
            let _ = release.await;
        }
    }
}

impl AuthRuntime {
    /// Called by this process right after it changed something tokens depend on: it sees the
    /// change at once; other processes see it at their next epoch poll.
    pub fn invalidate(&self) {
        self.cache.clear();
    }

    /// Polls the epoch forever.
    pub async fn watch_epoch(self: Arc<Self>, db: Db) {
        let mut tick = tokio::time::interval(EPOCH_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let current = match db.get().await {
                Ok(mut pooled) => epoch::get(&mut pooled.conn()).await.ok(),
                Err(_) => None,
            };
            match current {
                Some(e) => self.cache.observe_epoch(e),
                None => tracing::debug!(
                    "auth epoch poll failed; the token cache is bypassed until it succeeds"
                ),
            }
        }
    }

    /// Writes usage every few seconds (sooner when a lot piles up), forever.
    pub async fn flush_usage_forever(self: Arc<Self>, db: Db) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(USAGE_FLUSH) => {},
                _ = self.usage.wanted() => {},
            }
            if let Err(e) = self.usage.flush(&db).await {
                tracing::warn!(error = %e, "could not write token usage; will retry");
            }
        }
    }
}
