use std::time::Instant;

use app::backend::dev_seed::{seed, SeedOptions};

use crate::config::{Config, DevCommand};

pub async fn run(config: &Config, cmd: DevCommand) -> Result<(), String> {
    match cmd {
        DevCommand::Seed {
            tokens,
            accounts,
            seed: rng_seed,
        } => {
            let state = super::state(config).await?;
            let started = Instant::now();
            eprintln!(
                "Seeding {tokens} tokens over {accounts} owners into the {} database…",
                state.db.backend_name()
            );
            let report = seed(
                &state.db,
                &SeedOptions {
                    tokens,
                    owners: accounts,
                    seed: rng_seed,
                },
                |step| {
                    eprintln!("  {step} ({:.0?})", started.elapsed());
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "Done in {:.1?}: {} service accounts, {} users, {} tokens.",
                started.elapsed(),
                report.service_accounts,
                report.users,
                report.tokens
            );
            Ok(())
        }
    }
}
