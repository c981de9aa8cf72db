//! Fixed one-minute windows, counted in this process. With several processes behind a load
//! balancer a token can therefore make up to (processes × limit) requests a minute; the limit
//! exists to stop runaway scripts, not to meter usage exactly.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

const PRUNE_AT: usize = 100_000;

pub struct RateLimiter<K = i64> {
    windows: Mutex<HashMap<K, (i64, i64)>>,
}

impl<K> Default for RateLimiter<K> {
    fn default() -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Counts one request for `key` at `now` (Unix seconds). `Err(seconds)` when over `limit`:
    /// how long until the next window opens.
    pub fn check(&self, key: &K, limit: i64, now: i64) -> Result<(), i64> {
        let minute = now.div_euclid(60);
        let Ok(mut map) = self.windows.lock() else {
            return Ok(());
        };
        if map.len() >= PRUNE_AT {
            map.retain(|_, (m, _)| *m == minute);
        }
        let entry = map.entry(key.clone()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= limit {
            return Err(((minute + 1) * 60 - now).max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_per_minute() {
        let rl = RateLimiter::<i64>::default();
        let t = 6_000_000; // start of a minute
        for _ in 0..3 {
            assert!(rl.check(&1, 3, t + 5).is_ok());
        }
        assert_eq!(rl.check(&1, 3, t + 20), Err(40));
        assert!(rl.check(&2, 3, t + 20).is_ok(), "keys are independent");
        assert!(
            rl.check(&1, 3, t + 60).is_ok(),
            "a new minute, a new window"
        );
    }
}
