//! Domain operations: each checks who may do it, validates input with `domain` rules, runs its
//! queries in one transaction, and writes the audit record in that same transaction.

pub mod accounts;
pub mod audit;
pub mod login;
pub mod second_factor;
pub mod settings;
pub mod stale_policy;
pub mod team;
pub mod token_table;
pub mod tokens;
pub mod usage;
pub mod webhooks;

pub fn now() -> i64 {
    crate::domain::timefmt::now()
}
