//! Password hashing is deliberately expensive (argon2id, 19 MiB and two passes each), so an
//! unauthenticated burst of sign-ins could take every core and a great deal of memory. At
//! most `permits` hashes run at once (one core fewer than the machine has, so token
//! verification always keeps one); a few more callers may wait briefly; anyone beyond that is
//! told to come back (503 with Retry-After) without their attempt counting as a failure.
//!
//! Hashes run on threads of their own (one per permit), started once and lowered in priority
//! (`nice` 10): during a login storm the kernel still gives the runtime's threads, which serve
//! token verification, about nine tenths of any core they compete for. (Tokio's blocking pool
//! would not do: its threads are shared with SQLite's queries and cannot be niced back up.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

/// The nice value of the hashing threads (0 is normal, 19 the lowest priority).
pub const HASH_THREAD_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The gate was full: nothing ran, retry shortly.
    #[error("password hashing is at capacity")]
    Busy,
    /// The work ran and did not finish (it panicked). Not `Busy`: a sign-in whose check
    /// failed this way must still count as an attempt.
    #[error("password hashing failed")]
    Failed,
}
use HashError::Busy;

pub struct HashGate {
    permits: usize,
    max_waiting: usize,
    max_wait: Duration,
    semaphore: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    jobs: mpsc::Sender<Job>,
}

/// One unit of a counter, given back when dropped: a caller whose future is dropped (the
/// client went away) mid-wait or mid-hash still leaves the counter right.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    /// Counts one more; returns the guard and the count before it.
    fn enter(counter: &Arc<AtomicUsize>) -> (Self, usize) {
        let before = counter.fetch_add(1, Ordering::AcqRel);
        (Self(counter.clone()), before)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    pub fn new(permits: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let permits = permits.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..permits {
            let queue = queue.clone();
            // A thread that cannot start leaves the permits waiting on the others; with none at
            // all every sign-in gets 503 (logged), never a hang.
            if let Err(e) = std::thread::Builder::new()
                .name(format!("keyward-hash-{i}"))
                .spawn(move || hash_thread(&queue))
            {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            permits,
            max_waiting,
            max_wait,
            semaphore: Arc::new(Semaphore::new(permits)),
            waiting: Arc::default(),
            running: Arc::default(),
            peak: Arc::default(),
            jobs,
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

    /// Hashes running right now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Takes every permit until the guard is dropped (a test's way to fill the gate).
    pub async fn occupy(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.semaphore.acquire_many(self.permits as u32).await.ok()
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    /// Runs `work` (blocking) under a permit, or fails with `Busy` (it never ran) or `Failed`
    /// (it panicked).
    ///
    /// Cancellation-safe: the permit moves into the blocking task, so it is held until the
    /// hash has finished even if the caller's future is dropped while awaiting it (a blocking
    /// task cannot be stopped), and the counters are guards.
    pub async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match self.semaphore.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let (_waiting, before) = Counted::enter(&self.waiting);
                if before >= self.max_waiting {
                    return Err(Busy);
                }
                match tokio::time::timeout(self.max_wait, self.semaphore.clone().acquire_owned())
                    .await
                {
                    Ok(Ok(p)) => p,
                    _ => return Err(Busy),
                }
            }
        };
        let (running, peak) = (self.running.clone(), self.peak.clone());
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let (_running, before) = Counted::enter(&running);
            peak.fetch_max(before + 1, Ordering::AcqRel);
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| Busy)?;
        result.await.map_err(|_| HashError::Failed)
    }
}

/// A hashing thread: lowers its own priority, then runs jobs until the gate is dropped.
fn hash_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        // A panicking job (argon2 does not panic on any input) must not take the thread along.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// On Linux the nice value is per thread: this lowers only the calling thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // Relative to where the process already runs (setpriority takes an absolute value:
        // under `nice -n 10` a plain 10 would not lower anything), capped at the lowest, 19.
        let target = (current_thread_nice() + HASH_THREAD_NICE).min(19);
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        let rc = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, target)
        };
        if rc != 0 {
            tracing::warn!("could not lower the priority of a password hashing thread");
        }
    }
}

/// The calling thread's nice value (tests check the hashing threads').
#[cfg(target_os = "linux")]
pub fn current_thread_nice() -> i32 {
    // SAFETY: as above.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::getpriority(libc::PRIO_PROCESS, tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_run_on_lower_priority_threads_of_their_own() {
        let gate = HashGate::new(2, 4, Duration::from_secs(5));
        let here = current_thread_nice();
        let (nice, name) = gate
            .run(|| {
                let name = std::thread::current().name().map(str::to_owned);
                (current_thread_nice(), name)
            })
            .await
            .unwrap();
        assert_eq!(nice, (here + HASH_THREAD_NICE).min(19));
        assert!(name.unwrap().starts_with("keyward-hash-"));
        assert_eq!(
            current_thread_nice(),
            here,
            "the runtime's threads keep theirs"
        );
        // A job that panics does not take its thread (and permit) along, and is no "busy".
        assert_eq!(
            gate.run(|| panic!("boom")).await,
            Err::<(), _>(HashError::Failed)
        );
        for _ in 0..4 {
            assert_eq!(gate.run(|| 7).await, Ok(7));
        }
    }

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
                Err(e) => panic!("{e}"),
            }
        }
        assert!((1..=2).contains(&gate.peak()), "{}", gate.peak());
        // Two run, three wait (and get their turn within 300 ms), the rest are refused.
        assert!((2..=5).contains(&ok), "{ok} ran");
        assert!(busy >= 7, "{busy} refused");
        assert_eq!(ok + busy, 12);
    }

    async fn until(what: &str, cond: impl Fn() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    /// A blocking job that runs until `release` is set, and says when it has started.
    fn job(started: &Arc<AtomicBool>, release: &Arc<AtomicBool>) -> impl FnOnce() + Send {
        let (started, release) = (started.clone(), release.clone());
        move || {
            started.store(true, Ordering::Release);
            // Bounded, so that a failed assertion ends the test rather than leaving the
            // runtime's shutdown waiting for this thread.
            let give_up = std::time::Instant::now() + Duration::from_secs(10);
            while !release.load(Ordering::Acquire) && std::time::Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn callers_dropped_mid_wait_or_mid_hash_keep_the_bound_and_the_queue() {
        let gate = Arc::new(HashGate::new(1, 2, Duration::from_secs(30)));
        let flag = || Arc::new(AtomicBool::new(false));

        // One hash runs; its caller goes away while it is still hashing.
        let (a_started, a_release) = (flag(), flag());
        let a = tokio::spawn({
            let (gate, work) = (gate.clone(), job(&a_started, &a_release));
            async move { gate.run(work).await }
        });
        until("the first hash runs", || a_started.load(Ordering::Acquire)).await;

        // Two wait; both callers go away while waiting.
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.run(|| ()).await })
            })
            .collect();
        until("two callers wait", || gate.waiting() == 2).await;
        for w in &waiters {
            w.abort();
        }
        for w in waiters {
            assert!(w.await.unwrap_err().is_cancelled());
        }
        assert_eq!(gate.waiting(), 0, "the queue counter came back");

        a.abort();
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(gate.running(), 1, "the abandoned hash is still running");

        // The abandoned hash still holds the only permit: the next one waits for it.
        let (b_started, b_release) = (flag(), flag());
        let b = tokio::spawn({
            let (gate, work) = (gate.clone(), job(&b_started, &b_release));
            async move { gate.run(work).await }
        });
        until("the next caller waits", || gate.waiting() == 1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!b_started.load(Ordering::Acquire), "ran beside the first");

        a_release.store(true, Ordering::Release);
        until("the next hash runs", || b_started.load(Ordering::Acquire)).await;
        b_release.store(true, Ordering::Release);
        assert_eq!(b.await.unwrap(), Ok(()));
        assert_eq!(gate.peak(), 1, "never more than the permits at once");
        assert_eq!(gate.waiting(), 0);
        until("nothing runs", || gate.running() == 0).await;
    }
}
