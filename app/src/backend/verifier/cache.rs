use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use ipnet::IpNet;

use crate::backend::auth::Subject;
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

/// More entries than this and the cache starts over (it refills from the database).
const MAX_ENTRIES: usize = 100_000;

pub struct TokenCache {
    entries: RwLock<HashMap<String, Arc<CachedToken>>>,
    epoch: AtomicI64,
    /// Milliseconds since `started` at which the epoch was last confirmed.
    confirmed_at_ms: AtomicI64,
    started: Instant,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
            epoch: AtomicI64::new(i64::MIN),
            confirmed_at_ms: AtomicI64::new(i64::MIN / 2),
            started: Instant::now(),
        }
    }
}

impl TokenCache {
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
            return None;
        }
        self.entries.read().ok()?.get(public_id).cloned()
    }

    pub fn insert(&self, public_id: &str, token: Arc<CachedToken>) {
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(public_id.to_string(), token);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.write() {
            map.clear();
        }
    }

    /// The poller saw the database's epoch: a new value drops every entry.
    pub fn observe_epoch(&self, epoch: i64) {
        if self.epoch.swap(epoch, Ordering::AcqRel) != epoch {
            self.clear();
        }
        self.confirmed_at_ms.store(self.now_ms(), Ordering::Release);
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn entries_are_used_only_after_a_recent_epoch_confirmation() {
        let cache = TokenCache::default();
        cache.insert("a", token());
        assert!(cache.get("a").is_none(), "never confirmed: bypassed");
        cache.observe_epoch(5);
        cache.insert("a", token());
        assert!(cache.get("a").is_some());
    }

    #[test]
    fn a_new_epoch_drops_everything() {
        let cache = TokenCache::default();
        cache.observe_epoch(1);
        cache.insert("a", token());
        cache.observe_epoch(1);
        assert_eq!(cache.len(), 1, "same epoch keeps entries");
        cache.observe_epoch(2);
        assert!(cache.is_empty());
    }
}
