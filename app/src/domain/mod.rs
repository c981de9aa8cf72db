//! Pure rules shared by the browser and the server: nothing here touches the network or the
//! database, so every rule is unit-tested where it lives and the forms can check input before
//! it is sent (the server always checks again).

pub mod audit_query;
pub mod cidr;
pub mod csv_cell;
pub mod expiry;
pub mod limits;
pub mod names;
pub mod policy;
pub mod redirect;
pub mod role;
pub mod second_factor;
pub mod sensitive;
pub mod stale;
pub mod throttle;
pub mod timefmt;
pub mod token_format;
pub mod token_query;
pub mod token_status;
pub mod usage;
pub mod webhook;

pub use role::Role;
pub use sensitive::Sensitive;

/// A rule broken by user input: which form field is at fault and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
