//! The `keyward` binary around the `app` crate: configuration, start-up, the HTTP router and
//! its middleware, and the command line.

pub mod alloc;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod http;
pub mod metrics;
pub mod startup;
pub mod telemetry;

/// `0.1.0 (commit 1a2b3c4d5e6f)`: what `keyward --version` and the start-up log say.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KEYWARD_GIT_COMMIT"),
    ")"
);
