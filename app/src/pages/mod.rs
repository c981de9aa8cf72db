//! One module per page; pages fetch through server functions and compose components.

pub mod account;
pub mod audit;
pub mod login;
pub mod my_tokens;
pub mod not_found;
pub mod second_factor;
pub mod service_accounts;
pub mod set_password;
pub mod settings;
pub mod setup;
pub mod team;
pub mod token_detail;
pub mod token_table;
pub mod webhooks;
