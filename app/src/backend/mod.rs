//! Server-only code: the database, the rules that need it, and who is calling.

pub mod audit_action;
pub mod auth;
pub mod clock;
pub mod crypto;
pub mod csp;
pub mod db;
pub mod dev_seed;
pub mod error_map;
pub mod hashing;
pub mod principal;
pub mod repo;
pub mod service;
pub mod state;
pub mod totp;
pub mod verifier;
pub mod webhooks;
