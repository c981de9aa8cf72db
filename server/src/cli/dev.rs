use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use app::backend::dev_seed::{seed, Phase, SecretsSink, SeedOptions, SeedProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{Config, DevCommand};

pub async fn run(config: &Config, cmd: DevCommand) -> Result<(), String> {
    match cmd {
        DevCommand::Seed {
            tokens,
            accounts,
            seed: rng_seed,
            secrets_out,
            all_live,
        } => {
            let secrets = match &secrets_out {
                Some(path) => Some(create_private(path)?),
                None => None,
            };
            let result = seed_command(
                config,
                &SeedOptions {
                    tokens,
                    owners: accounts,
                    seed: rng_seed,
                    all_live,
                },
                secrets,
            )
            .await;
            if let (Err(_), Some(path)) = (&result, &secrets_out) {
                // Secrets of tokens that were rolled back: useless, and better not left around.
                let _ = std::fs::remove_file(path);
            }
            if let (Ok(()), Some(path)) = (&result, &secrets_out) {
                eprintln!("The {tokens} token secrets are in {}.", path.display());
            }
            result
        }
    }
}

async fn seed_command(
    config: &Config,
    opts: &SeedOptions,
    secrets: Option<std::fs::File>,
) -> Result<(), String> {
    let (tokens, accounts) = (opts.tokens, opts.owners);
    let state = super::state(config).await?;
    let started = Instant::now();
    eprintln!(
        "Seeding {tokens} tokens over {accounts} owners into the {} database{}…",
        state.db.backend_name(),
        if secrets.is_some() {
            ", with real secrets"
        } else {
            ""
        }
    );
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let report = seed(
        &state.db,
        state.key.clone(),
        opts,
        secrets.map(|f| Box::new(f) as SecretsSink),
        &mut progress,
    )
    .await
    .map_err(|e| {
        progress.abandon();
        format!("the seed failed and was rolled back: {e}")
    })?;
    eprintln!(
        "Done in {:.1?}: {} service accounts, {} users, {} tokens.",
        started.elapsed(),
        report.service_accounts,
        report.users,
        report.tokens
    );
    Ok(())
}

/// Creates (or truncates) a regular file only its owner can read: mode 0600 from the start,
/// and an existing file is switched to 0600 before anything is written to it.
fn create_private(path: &Path) -> Result<std::fs::File, String> {
    let fail = |e: std::io::Error| format!("cannot create {}: {e}", path.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(fail)?;
        // Not a device or a pipe: its mode is changed here, and it is removed on failure.
        if !file.metadata().map_err(fail)?.is_file() {
            return Err(format!("{} is not a regular file", path.display()));
        }
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        std::fs::File::create(path).map_err(fail)
    }
}

/// The seed's progress on standard error: a bar with an ETA on a terminal, otherwise a plain
/// line at every tenth of each phase. Each phase ends with a line giving its duration.
struct Progress {
    terminal: bool,
    bar: Option<ProgressBar>,
    phase: Phase,
    total: u64,
    started: Instant,
    /// Plain output: the next tenth to report.
    next_tenth: u64,
}

impl Progress {
    fn new(terminal: bool) -> Self {
        Progress {
            terminal,
            bar: None,
            phase: Phase::Owners,
            total: 0,
            started: Instant::now(),
            next_tenth: 1,
        }
    }

    fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

impl SeedProgress for Progress {
    fn start(&mut self, phase: Phase, total: u64) {
        self.phase = phase;
        self.total = total;
        self.started = Instant::now();
        self.next_tenth = 1;
        if self.terminal {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "  {prefix:<8} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({percent}%) ETA {eta}",
            ) {
                bar.set_style(style);
            }
            bar.set_prefix(phase.label());
            bar.enable_steady_tick(Duration::from_millis(250));
            self.bar = Some(bar);
        }
    }

    fn update(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        if self.total == 0 || done * 10 < self.next_tenth * self.total || done >= self.total {
            return;
        }
        self.next_tenth = done * 10 / self.total + 1;
        let elapsed = self.started.elapsed();
        let left = elapsed.mul_f64((self.total - done) as f64 / done as f64);
        eprintln!(
            "  {:<8} {:>3}% ({done}/{}), {:.0?} so far, about {:.0?} left",
            self.phase.label(),
            done * 100 / self.total,
            self.total,
            elapsed,
            left
        );
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!(
            "  {:<8} {} done in {:.1?}",
            self.phase.label(),
            self.total,
            self.started.elapsed()
        );
    }
}
