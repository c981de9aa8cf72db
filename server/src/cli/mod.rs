//! `keyward <command>`: the server, and the essentials for scripted installs, acting directly
//! on the configured database as the "local operator" (recorded so in the audit log). Results
//! go to standard output, messages and logs to standard error; failures exit non-zero.

mod backup;
mod dev;
mod service_account;
mod token;
mod user;
mod webhook;

use std::process::ExitCode;

use crate::config::{Cli, Command, Config};
use crate::startup;

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.config.resolve_files() {
        Ok(config) => dispatch(config, cli.command).await,
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(config: Config, command: Option<Command>) -> Result<(), String> {
    match command {
        None | Some(Command::Serve) => startup::serve(config).await.map_err(|e| e.to_string()),
        Some(Command::Migrate) => migrate(&config).await,
        Some(Command::Backup { path }) => backup::backup(&config, &path).await,
        Some(Command::Restore { path }) => backup::restore(&config, &path).await,
        Some(Command::User(cmd)) => user::run(&config, cmd).await,
        Some(Command::ServiceAccount(cmd)) => service_account::run(&config, cmd).await,
        Some(Command::Token(cmd)) => token::run(&config, cmd).await,
        Some(Command::Webhook(cmd)) => webhook::run(&config, cmd).await,
        Some(Command::Dev(cmd)) => dev::run(&config, cmd).await,
    }
}

async fn migrate(config: &Config) -> Result<(), String> {
    let url =
        app::backend::db::DatabaseUrl::parse(&config.database_url()).map_err(|e| e.to_string())?;
    if let app::backend::db::DatabaseUrl::Sqlite(path) = &url {
        crate::data_dir::prepare(&config.data_dir, Some(path)).map_err(|e| e.to_string())?;
    }
    let applied = app::backend::db::migrate::run(&url)
        .await
        .map_err(|e| e.to_string())?;
    if applied.is_empty() {
        eprintln!("The {} database is up to date.", url.backend_name());
    } else {
        for v in applied {
            eprintln!("applied {v}");
        }
    }
    Ok(())
}

/// The state commands work with: the same database and key as the server.
async fn state(config: &Config) -> Result<app::backend::state::AppState, String> {
    startup::build_state(config)
        .await
        .map_err(|e| e.to_string())
}

/// An aligned text table on standard output.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        println!("{}", line(row.clone()));
    }
}

/// A JSON array on standard output, for scripts (`--json`).
fn print_json<T: serde::Serialize>(rows: &[T]) -> Result<(), String> {
    let text = serde_json::to_string_pretty(rows).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}
