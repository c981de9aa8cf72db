//! Webhooks (Standard Webhooks format): events are written to an outbox in the transaction of
//! the change (`outbox`), and a worker per process delivers them (`worker`) with signed
//! requests (`sign`) to addresses the SSRF guard allows (`guard`, `send`).

pub mod expiry;
pub mod guard;
pub mod outbox;
pub mod send;
pub mod sign;
pub mod worker;

/// Wakes this process's worker when an event has been committed (other processes' workers find
/// it at their next poll).
pub(crate) static WAKE: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);
