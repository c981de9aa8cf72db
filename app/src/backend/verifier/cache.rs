use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use ipnet::IpNet;
use moka::sync::Cache;

use crate::backend::principal::Subject;
use crate::domain::token_format::TokenKind;
use crate::domain::Role;
use crate::model::RevokeReason;

/// Everything verification needs about one token and its owner.
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token_id: i64,
    pub kind: TokenKind,
    pub name: String,
    pub display_prefix: String,
    pub secret_hash: Vec<u8>,
    /// The pre-rotation hash and until when it still works.
    pub previous: Option<(Vec<u8>, i64)>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub sliding_days: Option<i64>,
    pub revoked: Option<RevokeReason>,
    pub subject: Subject,
    pub owner_name: String,
    pub role: Role,
    pub owner_disabled: bool,
    pub owner_gone: bool,
    pub can_introspect: bool,
    pub allowed: Vec<IpNet>,
    pub rate_limit_per_minute: i64,
}

/// At most this many tokens are cached (≈ 0.5 KB each). Past it the least valuable entries
/// (moka's TinyLFU: rarely and long-ago used) are evicted one by one, so a busy working set
/// stays cached instead of the whole cache emptying at once.
pub const MAX_ENTRIES: u64 = 250_000;

/// What a token load saw before it read the database: the cache's generation (bumped by every
/// local invalidation) and the database's auth epoch. A load whose tag no longer matches when
/// it finishes raced a change and must not be cached: it may hold a row read just before a
/// revocation committed (the cache-fill race).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadTag {
    pub generation: u64,
    pub epoch: i64,
}

pub struct TokenCache {
    /// Each entry carries the generation it was inserted under. `get` checks it, so the epoch
    /// rule does not rest on moka's own timing of `invalidate_all` (which compares insertion
    /// timestamps and could let an entry stamped in the same instant survive).
    entries: Cache<String, (u64, Arc<CachedToken>)>,
    /// Held shared by `insert` across its tag check and the insert, and exclusively by `clear`:
    /// a clear therefore either precedes the check (which then fails) or follows the insert
    /// (and drops the entry). Poisoning is ignored: the guarded data is `()`.
    gate: RwLock<()>,
    /// Changed (under the gate, exclusively) whenever the entries are dropped.
    generation: AtomicU64,
    epoch: AtomicI64,
    /// Milliseconds since `started` at which the epoch was last confirmed.
    confirmed_at_ms: AtomicI64,
    started: Instant,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

impl TokenCache {
    pub fn with_capacity(max_entries: u64) -> Self {
        Self {
            entries: Cache::new(max_entries),
            gate: RwLock::new(()),
            generation: AtomicU64::new(0),
            epoch: AtomicI64::new(i64::MIN),
            confirmed_at_ms: AtomicI64::new(i64::MIN / 2),
            started: Instant::now(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    /// Entries may be used only while the epoch was confirmed within the staleness bound.
    pub fn is_fresh(&self) -> bool {
        let age = self.now_ms() - self.confirmed_at_ms.load(Ordering::Acquire);
        age <= super::MAX_STALENESS.as_millis() as i64
    }

    pub fn get(&self, public_id: &str) -> Option<Arc<CachedToken>> {
        if !self.is_fresh() {
            metrics::counter!("keyward_token_cache_lookups_total", "result" => "bypassed")
                .increment(1);
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = match self.entries.get(public_id) {
            Some((g, token)) if g == generation => Some(token),
            Some(_) => {
                self.entries.invalidate(public_id);
                None
            }
            None => None,
        };
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("keyward_token_cache_lookups_total", "result" => result).increment(1);
        found
    }

    /// Taken before a load reads the auth epoch (and then the token).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a loaded token, unless something changed since the load began: a local
    /// invalidation, or an auth epoch other than the one read before the load.
    pub fn insert(&self, public_id: &str, token: Arc<CachedToken>, tag: LoadTag) -> bool {
        let _gate = self.gate.read().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != tag.generation
            || self.epoch.load(Ordering::Acquire) != tag.epoch
        {
            return false;
        }
        self.entries
            .insert(public_id.to_string(), (tag.generation, token));
        true
    }

    pub fn clear(&self) {
        let _gate = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Lazy: entries inserted up to now are never returned again; their memory is
        // reclaimed in the background.
        self.entries.invalidate_all();
    }

    /// The poller saw the database's epoch: a new value drops every entry.
    pub fn observe_epoch(&self, epoch: i64) {
        if self.epoch.load(Ordering::Acquire) != epoch {
            let _gate = self.gate.write().unwrap_or_else(PoisonError::into_inner);
            self.epoch.store(epoch, Ordering::Release);
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.entries.invalidate_all();
        }
        self.confirmed_at_ms.store(self.now_ms(), Ordering::Release);
    }

    /// Approximate (moka counts lazily); for metrics and tests, never for decisions.
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_of_an_older_generation_is_never_returned() {
        let cache = TokenCache::default();
        cache.observe_epoch(1);
        let before = cache.generation();
        cache.clear();
        // As if moka's lazy invalidate_all had let an entry stamped at the same instant
        // survive: it is still not served.
        cache.entries.insert("abc".to_string(), (before, token()));
        assert!(cache.get("abc").is_none());
        assert!(cache.entries.get("abc").is_none(), "and it is dropped");
    }

    fn token() -> Arc<CachedToken> {
        Arc::new(CachedToken {
            token_id: 1,
            kind: TokenKind::ServiceAccount,
            name: "t".into(),
            display_prefix: "kwsa_x".into(),
            secret_hash: vec![1],
            previous: None,
            created_at: 0,
            expires_at: None,
            sliding_days: None,
            revoked: None,
            subject: Subject::Operator,
            owner_name: "o".into(),
            role: Role::Viewer,
            owner_disabled: false,
            owner_gone: false,
            can_introspect: false,
            allowed: vec![],
            rate_limit_per_minute: 10,
        })
    }

    fn tag(cache: &TokenCache, epoch: i64) -> LoadTag {
        LoadTag {
            generation: cache.generation(),
            epoch,
        }
    }

    #[test]
    fn entries_are_used_only_after_a_recent_epoch_confirmation() {
        let cache = TokenCache::default();
        cache.insert("a", token(), tag(&cache, 5));
        assert!(cache.get("a").is_none(), "never confirmed: bypassed");
        cache.observe_epoch(5);
        assert!(cache.insert("a", token(), tag(&cache, 5)));
        assert!(cache.get("a").is_some());
    }

    #[test]
    fn a_load_that_raced_a_change_is_not_cached() {
        let cache = TokenCache::default();
        cache.observe_epoch(1);
        // A local revocation commits while the load is in flight.
        let before = tag(&cache, 1);
        cache.clear();
        assert!(!cache.insert("a", token(), before));
        // Another process's revocation: the epoch moved on (seen by the poller or not yet).
        let before = tag(&cache, 1);
        cache.observe_epoch(2);
        assert!(!cache.insert("a", token(), before));
        // The load read an epoch the poller has not seen yet.
        assert!(!cache.insert("a", token(), tag(&cache, 3)));
        assert!(cache.is_empty());
        assert!(cache.insert("a", token(), tag(&cache, 2)));
    }

    #[test]
    fn a_new_epoch_drops_everything() {
        let cache = TokenCache::default();
        cache.observe_epoch(1);
        cache.insert("a", token(), tag(&cache, 1));
        cache.observe_epoch(1);
        assert_eq!(cache.len(), 1, "same epoch keeps entries");
        cache.observe_epoch(2);
        assert!(cache.is_empty());
    }

    #[test]
    fn past_its_capacity_the_cache_evicts_some_entries_not_all() {
        let cache = TokenCache::with_capacity(100);
        cache.observe_epoch(1);
        for i in 0..300 {
            // Repeated reads make the first ten the valuable ones.
            if i < 10 {
                for _ in 0..5 {
                    cache.insert(&format!("t{i}"), token(), tag(&cache, 1));
                    cache.get(&format!("t{i}"));
                }
            }
            cache.insert(&format!("t{i}"), token(), tag(&cache, 1));
        }
        let len = cache.len();
        assert!((50..=100).contains(&len), "bounded, not emptied: {len}");
        let kept = (0..10)
            .filter(|i| cache.get(&format!("t{i}")).is_some())
            .count();
        assert!(
            kept >= 8,
            "frequently used entries survive eviction: {kept}/10"
        );
    }

    #[test]
    fn a_poisoned_gate_neither_blocks_nor_bypasses_the_epoch_rule() {
        let cache = Arc::new(TokenCache::default());
        cache.observe_epoch(1);
        let c = cache.clone();
        let _ = std::thread::spawn(move || {
            let _g = c.gate.write().unwrap();
            panic!("poison the gate");
        })
        .join();
        assert!(cache.gate.is_poisoned());
        let before = tag(&cache, 1);
        cache.clear();
        assert!(
            !cache.insert("a", token(), before),
            "stale load still refused"
        );
        assert!(cache.insert("a", token(), tag(&cache, 1)));
        assert!(cache.get("a").is_some());
        cache.observe_epoch(2);
        assert!(cache.get("a").is_none());
    }
}
