//! Integration tests: real HTTP against the real router, on SQLite and PostgreSQL.

#[macro_use]
mod harness;

mod api;
mod audit;
mod authz;
mod cli;
mod foundation;
mod fuzz;
mod observe;
mod ops;
mod races;
mod second_factor;
mod secrets;
mod security;
mod token_table;
mod token_table_scale;
mod tokens;
mod usage;
mod webhooks;
