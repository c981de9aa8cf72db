//! Password hashing is deliberately expensive (argon2id, 19 MiB and two passes each), so an
//! unauthenticated burst of sign-ins could take every core and a great deal of memory. At
//! most `permits` hashes run at once (one core fewer than the machine has, so token
//! verification always keeps one); a few more callers may wait briefly; anyone beyond that is
//! told to come back (503 with Retry-After) without their attempt counting as a failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

/// The gate was full: retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is at capacity")]
pub struct Busy;

pub struct HashGate {
    permits: usize,
    max_waiting: usize,
    max_wait: Duration,
    semaphore: Semaphore,
    waiting: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl HashGate {
    pub fn new(permits: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let permits = permits.max(1);
        Self {
            permits,
            max_waiting,
            max_wait,
            semaphore: Semaphore::new(permits),
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// `max(1, cores − 1)` hashes at once, four waiters per permit for up to two seconds.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let permits = cores.saturating_sub(1).max(1);
        Self::new(permits, 4 * permits, Duration::from_secs(2))
    }

    pub fn permits(&self) -> usize {
        self.permits
    }

    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Callers waiting for a permit right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Takes every permit until the guard is dropped (a test's way to fill the gate).
    pub async fn occupy(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.semaphore.acquire_many(self.permits as u32).await.ok()
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    /// Runs `work` (blocking) under a permit, or fails with `Busy`.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Busy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match self.semaphore.try_acquire() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(Busy);
                }
                let waited = tokio::time::timeout(self.max_wait, self.semaphore.acquire()).await;
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                match waited {
                    Ok(Ok(p)) => p,
                    _ => return Err(Busy),
                }
            }
        };
        let now_running = self.running.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now_running, Ordering::AcqRel);
        let result = tokio::task::spawn_blocking(work).await;
        self.running.fetch_sub(1, Ordering::AcqRel);
        drop(permit);
        result.map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_the_permits_run_and_the_overflow_is_refused() {
        let gate = Arc::new(HashGate::new(2, 3, Duration::from_millis(300)));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let gate = gate.clone();
            tasks.push(tokio::spawn(async move {
                gate.run(|| std::thread::sleep(Duration::from_millis(100)))
                    .await
            }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(Busy) => busy += 1,
            }
        }
        assert!((1..=2).contains(&gate.peak()), "{}", gate.peak());
        // Two run, three wait (and get their turn within 300 ms), the rest are refused.
        assert!((2..=5).contains(&ok), "{ok} ran");
        assert!(busy >= 7, "{busy} refused");
        assert_eq!(ok + busy, 12);
    }
}
