//! Per-key request limits as a GCRA (generic cell rate algorithm): a limit of N a minute lets
//! a burst of N through, then one request every 60/N seconds. Unlike fixed one-minute windows,
//! nothing doubles across a window boundary.
//!
//! Each key's whole state is one number (the "theoretical arrival time"), updated with a
//! compare-and-swap: there is no lock to poison, and a key idle for a minute is dropped from the
//! bounded map (after a minute idle its state equals a fresh one, so dropping it changes
//! nothing).
//!
//! Decision: limits are counted per process, not shared through PostgreSQL. Sharing would cost
//! a database write on every verified request, on the hot path of every caller. With P
//! processes behind a load balancer a token can therefore make up to P × its limit; the limit
//! exists to stop runaway scripts, not to meter usage exactly (README, "Rate limits").

use std::hash::Hash;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;

/// Nanoseconds: fine enough that 60 s / N is exact to well under 0.1 % for any limit the
/// settings accept (up to 100 million a minute).
const WINDOW_NANOS: i64 = 60_000_000_000;
/// Keys tracked at once; past it the least recently used are dropped (a dropped key that was
/// not idle gets a fresh burst, which only errs on the side of letting a request through).
const MAX_KEYS: u64 = 1_000_000;

/// What a caller is told with an allowed request (the `RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: i64,
    pub remaining: i64,
    /// Seconds until the full burst is available again.
    pub reset_secs: i64,
}

pub struct RateLimiter<K = i64>
where
    K: Hash + Eq + Send + Sync + 'static,
{
    /// Theoretical arrival time per key, in nanoseconds since `started`.
    tat: Cache<K, Arc<AtomicI64>>,
    started: Instant,
}

impl<K: Hash + Eq + Send + Sync + Clone + 'static> Default for RateLimiter<K> {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

impl<K: Hash + Eq + Send + Sync + Clone + 'static> RateLimiter<K> {
    /// A limiter tracking at most `max_keys` keys (for keys anyone can mint, such as client
    /// addresses, a smaller bound caps the memory an anonymous caller can make it use).
    pub fn with_capacity(max_keys: u64) -> Self {
        Self {
            tat: Cache::builder()
                .max_capacity(max_keys)
                .time_to_idle(Duration::from_nanos(WINDOW_NANOS as u64) + Duration::from_secs(1))
                .build(),
            started: Instant::now(),
        }
    }

    /// Counts one request for `key` now. `Err(seconds)` when over `per_minute`: how long until
    /// the next request would be allowed.
    pub fn check(&self, key: &K, per_minute: i64) -> Result<Quota, i64> {
        let now = self.started.elapsed().as_nanos() as i64;
        self.check_at(key, per_minute, now)
    }

    /// As `check`, at `now` nanoseconds on the limiter's clock (tests drive time).
    pub fn check_at(&self, key: &K, per_minute: i64, now: i64) -> Result<Quota, i64> {
        if per_minute <= 0 {
            return Err(60);
        }
        // Rounded up: a limit that does not divide the minute lets slightly fewer through
        // (under 0.01 % at any accepted limit), never more.
        let period = (WINDOW_NANOS as u64).div_ceil(per_minute as u64) as i64;
        let tolerance = WINDOW_NANOS - period;
        let cell = self
            .tat
            .get_with_by_ref(key, || Arc::new(AtomicI64::new(i64::MIN)));
        let mut current = cell.load(Ordering::Acquire);
        loop {
            let start = current.max(now);
            if start - now > tolerance {
                return Err(ceil_secs(start - now - tolerance).max(1));
            }
            let next = start + period;
            match cell.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let used = next - now;
                    return Ok(Quota {
                        limit: per_minute,
                        // Clamped: rounding of the period must never promise more than the limit.
                        remaining: ((WINDOW_NANOS - used) / period).clamp(0, per_minute - 1),
                        reset_secs: ceil_secs(used),
                    });
                }
                Err(seen) => current = seen,
            }
        }
    }
}

fn ceil_secs(nanos: i64) -> i64 {
    (nanos + 999_999_999) / 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn a_full_burst_then_one_request_per_period() {
        let rl = RateLimiter::<i64>::default();
        let t = 100 * SEC;
        for i in 0..3 {
            let q = rl.check_at(&1, 3, t).unwrap();
            assert_eq!((q.limit, q.remaining), (3, 2 - i));
        }
        assert_eq!(rl.check_at(&1, 3, t), Err(20), "next cell in 20 s");
        assert!(rl.check_at(&2, 3, t).is_ok(), "keys are independent");
        assert!(rl.check_at(&1, 3, t + 19 * SEC).is_err());
        let q = rl.check_at(&1, 3, t + 20 * SEC).unwrap();
        assert_eq!(q.remaining, 0);
        assert_eq!(q.reset_secs, 60);
    }

    #[test]
    fn no_double_burst_across_a_minute_boundary() {
        // The fixed window let 2 × limit through around a boundary: 3 at :59 and 3 at :00.
        let rl = RateLimiter::<i64>::default();
        let boundary = 600 * SEC;
        let mut passed = 0;
        for ms in [-1_000, -500, -100, 0, 100, 500, 1_000] {
            if rl.check_at(&7, 3, boundary + ms * 1_000_000).is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, 3);
    }

    #[test]
    fn a_long_idle_key_starts_with_a_full_burst() {
        let rl = RateLimiter::<String>::default();
        let key = "10.0.0.1".to_string();
        for _ in 0..5 {
            rl.check_at(&key, 5, SEC).unwrap();
        }
        assert!(rl.check_at(&key, 5, SEC).is_err());
        let q = rl.check_at(&key, 5, 3600 * SEC).unwrap();
        assert_eq!(q.remaining, 4);
    }

    #[test]
    fn concurrent_requests_never_exceed_the_burst() {
        let rl = Arc::new(RateLimiter::<i64>::default());
        let now = 50 * SEC;
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let rl = rl.clone();
                    s.spawn(move || {
                        (0..100)
                            .filter(|_| rl.check_at(&1, 120, now).is_ok())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(passed, 120);
    }

    #[test]
    fn a_limit_that_does_not_divide_the_minute_never_lets_more_through() {
        let rl = RateLimiter::<i64>::default();
        let n = 700_000;
        let mut passed = 0;
        while let Ok(q) = rl.check_at(&1, n, SEC) {
            assert!(q.remaining < n, "{q:?}");
            passed += 1;
        }
        assert!(passed <= n && passed >= n - n / 10_000, "{passed}");
        let q = rl.check_at(&2, 100_000_000, SEC).unwrap();
        assert_eq!((q.limit, q.remaining), (100_000_000, 99_999_999));
    }

    #[test]
    fn a_zero_limit_refuses() {
        let rl = RateLimiter::<i64>::default();
        assert_eq!(rl.check_at(&1, 0, SEC), Err(60));
    }
}
