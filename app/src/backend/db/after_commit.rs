//! Work that must happen only once the current transaction has committed: the audit log's
//! `tracing` event. Emitted at insert time, a change that is rolled back afterwards (a later
//! step of the same transaction fails) would leave a log line, in the SIEM, for something that
//! never happened.
//!
//! `Db::transaction` runs its body inside `collect`; `after_commit` queues work there, and the
//! work runs when the transaction has committed and is dropped when it rolls back. Outside a
//! transaction (an autocommitted statement) it runs at once: the statement already committed.
//! A task-local rather than a parameter so that the repositories keep taking a plain `Conn`
//! and need not know whether they run inside a transaction.

use std::cell::RefCell;
use std::future::Future;

type Pending = RefCell<Vec<Box<dyn FnOnce() + Send>>>;

tokio::task_local! {
    static PENDING: Pending;
}

/// Runs `work` once the enclosing `Db::transaction` commits (never if it rolls back), or now
/// when there is none.
pub fn after_commit(work: impl FnOnce() + Send + 'static) {
    let mut work = Some(work);
    let _ = PENDING.try_with(|pending| {
        if let Some(w) = work.take() {
            pending.borrow_mut().push(Box::new(w));
        }
    });
    if let Some(w) = work {
        w();
    }
}

/// Runs a transaction `body`, then the work it queued if it succeeded (committed).
pub(super) async fn collect<R, E>(body: impl Future<Output = Result<R, E>>) -> Result<R, E> {
    let (result, pending) = PENDING
        .scope(RefCell::new(Vec::new()), async move {
            let result = body.await;
            (result, PENDING.with(|p| p.take()))
        })
        .await;
    if result.is_ok() {
        for work in pending {
            work();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn log() -> (Arc<Mutex<Vec<&'static str>>>, impl Fn(&'static str)) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (seen, move |what| {
            let s = s.clone();
            after_commit(move || s.lock().unwrap().push(what));
        })
    }

    #[tokio::test]
    async fn work_waits_for_the_commit_and_is_dropped_on_rollback() {
        let (seen, queue) = log();
        let committed = collect(async {
            queue("a");
            queue("b");
            assert!(seen.lock().unwrap().is_empty(), "nothing before the commit");
            Ok::<_, ()>(())
        })
        .await;
        assert!(committed.is_ok());
        assert_eq!(*seen.lock().unwrap(), ["a", "b"]);
        let rolled_back = collect(async {
            queue("c");
            Err::<(), _>(())
        })
        .await;
        assert!(rolled_back.is_err());
        assert_eq!(
            *seen.lock().unwrap(),
            ["a", "b"],
            "a rollback drops the work"
        );
        queue("d");
        assert_eq!(
            *seen.lock().unwrap(),
            ["a", "b", "d"],
            "outside a transaction it runs at once"
        );
    }
}
