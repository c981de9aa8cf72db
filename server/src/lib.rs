//! The `keyward` binary around the `app` crate: configuration, start-up, the HTTP router and
//! its middleware, and the command line.

pub mod cli;
pub mod config;
pub mod http;
pub mod startup;
pub mod telemetry;
