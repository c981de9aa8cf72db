//! `keyward <command>`: the server, and the essentials for scripted installs, acting directly
//! on the configured database as the "local operator" (recorded so in the audit log). Results
//! go to standard output, messages and logs to standard error; failures exit non-zero.

mod dev;
mod service_account;
mod token;
mod user;

use std::process::ExitCode;

use crate::config::{Cli, Command};
use crate::startup;

pub async fn run(cli: Cli) -> ExitCode {
    let config = cli.config;
    let result = match cli.command {
        None | Some(Command::Serve) => startup::serve(config).await.map_err(|e| e.to_string()),
        Some(Command::Migrate) => migrate(&config).await,
        Some(Command::User(cmd)) => user::run(&config, cmd).await,
        Some(Command::ServiceAccount(cmd)) => service_account::run(&config, cmd).await,
        Some(Command::Token(cmd)) => token::run(&config, cmd).await,
        Some(Command::Dev(cmd)) => dev::run(&config, cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &crate::config::Config) -> Result<(), String> {
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
async fn state(config: &crate::config::Config) -> Result<app::backend::state::AppState, String> {
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
