//! Logging through `tracing`: human-readable or JSON, level from `KEYWARD_LOG`. Logs go to
//! standard error so that commands can print results (such as a new token) alone on standard
//! output. Every audit record is also an `info` event with target `audit` (for a SIEM; keep it
//! with e.g. `KEYWARD_LOG=warn,audit=info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a file or the journal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match config.log_format {
        LogFormat::Pretty => builder.try_init(),
        // JSON lines name their target: a collector picks the audit records (`"target":
        // "audit"`) out of the stream by it.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_target(true)
            .try_init(),
    };
}
