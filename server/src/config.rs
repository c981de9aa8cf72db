//! Configuration: every flag is also an environment variable, and the variable names are the
//! public interface operators script against.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use app::domain::Role;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

#[derive(Debug, Parser)]
#[command(
    name = "keyward",
    version = crate::VERSION,
    about = "Keyward: service accounts and API tokens, managed."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Directory for the SQLite database and the generated secret key (created on first start).
    #[arg(
        long,
        env = "KEYWARD_DATA_DIR",
        default_value = "./data",
        global = true,
        hide_env_values = true
    )]
    pub data_dir: PathBuf,

    /// sqlite://PATH (or a file path) or postgres://USER@HOST/DB. Default: SQLite in the data
    /// directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Read DATABASE_URL from this file (e.g. a container or systemd credential), so the
    /// password is in no environment or process list. Conflicts with DATABASE_URL.
    #[arg(
        long,
        env = "DATABASE_URL_FILE",
        global = true,
        value_name = "FILE",
        hide_env_values = true
    )]
    pub database_url_file: Option<PathBuf>,

    /// Address to listen on.
    #[arg(
        long,
        env = "KEYWARD_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true,
        hide_env_values = true
    )]
    pub listen: SocketAddr,

    /// Public URL of Keyward (links, setup URL, cookie security). Default: http://<listen>.
    /// With an https URL, cookies are marked Secure.
    #[arg(long, env = "KEYWARD_BASE_URL", global = true, hide_env_values = true)]
    pub base_url: Option<url::Url>,

    /// Sign a session out after this many minutes without a request.
    #[arg(
        long,
        env = "KEYWARD_SESSION_IDLE_MINUTES",
        default_value_t = 120,
        global = true,
        hide_env_values = true
    )]
    pub session_idle_minutes: u32,

    /// Sign a session out this many hours after sign-in, however busy it is.
    #[arg(
        long,
        env = "KEYWARD_SESSION_MAX_HOURS",
        default_value_t = 12,
        global = true,
        hide_env_values = true
    )]
    pub session_max_hours: u32,

    /// Log format.
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true, hide_env_values = true)]
    pub log_format: LogFormat,

    /// Log level or filter (tracing syntax, e.g. `info` or `keyward=debug,info`).
    #[arg(
        long,
        env = "KEYWARD_LOG",
        default_value = "info",
        global = true,
        hide_env_values = true
    )]
    pub log_level: String,

    /// 64 hex characters keying every token hash. Default: generated into
    /// <data dir>/secret.key on first start. Several processes on one database must share it.
    #[arg(
        long,
        env = "KEYWARD_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,

    /// Read KEYWARD_SECRET_KEY from this file (e.g. systemd's LoadCredential=, as
    /// $CREDENTIALS_DIRECTORY/…). Conflicts with KEYWARD_SECRET_KEY.
    #[arg(
        long,
        env = "KEYWARD_SECRET_KEY_FILE",
        global = true,
        value_name = "FILE",
        hide_env_values = true
    )]
    pub secret_key_file: Option<PathBuf>,

    /// Comma-separated CIDR ranges of reverse proxies whose X-Forwarded-For is trusted.
    #[arg(
        long,
        env = "KEYWARD_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true,
        hide_env_values = true
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Serve Prometheus metrics at http://<this address>/metrics (e.g. 127.0.0.1:9464). Off
    /// when unset. Use an address only the scraper reaches: the endpoint has no sign-in.
    #[arg(
        long,
        env = "KEYWARD_METRICS_LISTEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_listen: Option<SocketAddr>,

    /// Maximum database connections of this process.
    #[arg(
        long,
        env = "KEYWARD_DB_POOL_SIZE",
        default_value_t = 16,
        global = true,
        hide_env_values = true
    )]
    pub db_pool_size: usize,

    /// Let webhooks go to private, loopback and link-local addresses, and over plain http
    /// (labs and tests). Off by default: such targets are refused (SSRF).
    #[arg(
        long,
        env = "KEYWARD_WEBHOOK_ALLOW_PRIVATE",
        global = true,
        hide_env_values = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value = "false",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub webhook_allow_private: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the SQLite database to a new file (mode 0600) while the server runs.
    ///
    /// The copy is one consistent snapshot; the server keeps serving and writing meanwhile. It
    /// holds every token hash and the key's fingerprint (not the key): keep it as private as
    /// the key, and back the key up too, apart. PostgreSQL: use pg_dump instead.
    Backup {
        /// The file to create; an existing file is never overwritten.
        path: PathBuf,
    },
    /// Replace the SQLite database with a `keyward backup` file (stop the server first).
    ///
    /// Checks first, changing nothing on failure: a Keyward SQLite database, intact, made with
    /// the configured secret key, and no server still using the database. Then replaces the
    /// database file atomically and applies pending migrations. PostgreSQL: use pg_restore.
    Restore {
        /// The backup file to restore.
        path: PathBuf,
    },
    /// Manage people who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage service accounts.
    #[command(subcommand, name = "service-account")]
    ServiceAccount(ServiceAccountCommand),
    /// Manage tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage webhook endpoints.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Development helpers (never on production data).
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; prints its signing secret (alone, on standard output: shown once).
    Create {
        /// Where to send events (https://…).
        #[arg(long)]
        url: String,
        /// Comma-separated event types (token.created, token.rotated, token.revoked,
        /// token.leak_reported, token.expiring, token.expired, service_account.disabled,
        /// service_account.deleted), or `all`.
        #[arg(long)]
        events: String,
        /// What it is for (default: none).
        #[arg(long)]
        description: Option<String>,
    },
    /// List endpoints.
    List {
        /// One JSON array instead of lines of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with realistic service accounts, people and tokens (for demos and
    /// benchmarks), appended to what is there. For an idle development database only: it drops
    /// and rebuilds the token table's indexes (in one transaction, so a failure restores them).
    /// The tokens cannot be used unless --secrets-out is given.
    Seed {
        /// How many tokens.
        #[arg(long, default_value_t = 10_000)]
        tokens: usize,
        /// How many owners (nine in ten service accounts, the rest people).
        #[arg(long, default_value_t = 500)]
        accounts: usize,
        /// Random seed, for reproducible data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Give every token a real secret (hashed with this server's key, so the tokens work
        /// against a server on the same database) and write the secrets to this file, one per
        /// line, created (or truncated) with mode 0600. Never printed.
        #[arg(long, value_name = "FILE")]
        secrets_out: Option<PathBuf>,
        /// Make every token usable: none revoked or expired, no address allow-list, no
        /// disabled owner (for benchmarks of verification; the dates and names stay varied).
        #[arg(long)]
        all_live: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password read from a prompt, or from standard input when it is
    /// not a terminal (first line).
    Create {
        /// Their e-mail address, which they sign in with.
        #[arg(long)]
        email: String,
        /// Give the user the Admin role (the same as --role admin).
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// Their role (default: viewer).
        #[arg(long, value_parser = RoleParser)]
        role: Option<Role>,
        /// The name shown in the console (default: none, the e-mail address is shown).
        #[arg(long)]
        name: Option<String>,
    },
    /// Clear an account's failed sign-ins, so that it may sign in again at once (audited).
    Unlock {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Print a one-time link with which a person sets a new password.
    ///
    /// Valid 24 hours; any earlier link of theirs stops working. Audited. Only the link is
    /// printed on standard output: pass it on privately.
    SetPasswordLink {
        /// The person's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Remove a person's authenticator app and recovery codes (a lost phone), so that they
    /// sign in with their password alone until they set up a new app. Audited.
    ///
    /// For when no other Admin can do it on the Team page, such as the only Admin's phone.
    ResetSecondFactor {
        /// The person's e-mail address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account; prints its id.
    Create {
        /// Unique name: 3–64 lowercase letters, digits and underscores.
        #[arg(long)]
        name: String,
        /// The role its tokens act with.
        #[arg(long, value_parser = RoleParser)]
        role: Role,
        /// What it is for (default: none).
        #[arg(long)]
        description: Option<String>,
    },
    /// List every service account.
    List {
        /// Print a JSON array instead of a table (fields: id, name, description, role,
        /// status, live_tokens, created_at, last_used_at; times in RFC 3339, UTC).
        #[arg(long)]
        json: bool,
    },
    /// Disable a service account: every token of it stops working at once (audited).
    Disable {
        /// The service account's name.
        name: String,
    },
    /// Enable a disabled service account: its live tokens work again (audited).
    Enable {
        /// The service account's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints the secret (and nothing else) on standard output, once.
    Create {
        /// The name of the service account the token belongs to.
        #[arg(long = "service-account")]
        service_account: String,
        /// The token's name, unique among the account's tokens.
        #[arg(long)]
        name: String,
        /// `30d`, any number of days, or `never`.
        #[arg(long = "expires-in", default_value = "30d")]
        expires_in: String,
        /// What it is used for (default: none).
        #[arg(long)]
        description: Option<String>,
        /// The expiry slides: valid --expires-in days after the last use.
        #[arg(long)]
        sliding: bool,
        /// Comma-separated CIDR ranges the token may be used from (default: anywhere).
        #[arg(long = "allowed-cidrs")]
        allowed_cidrs: Option<String>,
        /// Requests per minute (default: the organisation setting).
        #[arg(long = "rate-limit")]
        rate_limit: Option<String>,
    },
    /// List tokens (of one service account with --service-account). Never shows secrets.
    List {
        /// Only the tokens of this service account (by name).
        #[arg(long = "service-account")]
        service_account: Option<String>,
        /// Print a JSON array instead of a table (fields: id, prefix, name, kind, owner,
        /// owner_kind, role, status, created_at, expires_at, last_used_at, revoked_at; times
        /// in RFC 3339, UTC, or null).
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (the first column of `token list`).
    Revoke {
        /// The token's id.
        id: i64,
    },
    /// Give a service-account token a new secret; prints it (and nothing else), once.
    ///
    /// Same id, name, expiry and history; the old secret stops working now, or after --grace.
    Rotate {
        /// The token's id (the first column of `token list`).
        id: i64,
        /// How long the old secret keeps working: none, 1h or 24h.
        #[arg(long, default_value = "none", value_parser = ["none", "1h", "24h"])]
        grace: String,
    },
}

/// Parses a role by its stable name, listing the roles (with what each may do) in `--help`
/// and in the error; the names and descriptions come from the domain's `Role`.
#[derive(Debug, Clone, Copy)]
pub struct RoleParser;

impl TypedValueParser for RoleParser {
    type Value = Role;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Role, clap::Error> {
        let text = value.to_string_lossy();
        Role::parse(&text).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "unknown role `{text}`: the roles are {}\n",
                    names.join(", ")
                ),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Role::ALL
                .into_iter()
                .map(|r| PossibleValue::new(r.as_str()).help(r.describe())),
        ))
    }
}

/// A setting given as a file (`*_FILE`) that cannot be used. The messages name the variable
/// and the path, never what the file holds.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("both {value} and {file} are set: give the setting one way only")]
    Both {
        value: &'static str,
        file: &'static str,
    },
    #[error("cannot read {var} ({path}): {source}")]
    Unreadable {
        var: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{var} ({path}) is empty")]
    Empty { var: &'static str, path: String },
}

/// The value of a `*_FILE` setting: the file's text without trailing whitespace (editors and
/// `echo` end files with a newline, and secret stores differ).
fn read_setting_file(var: &'static str, path: &Path) -> Result<String, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        var,
        path: shown.clone(),
        source,
    })?;
    let value = text.trim_end();
    if value.is_empty() {
        return Err(ConfigError::Empty { var, path: shown });
    }
    Ok(value.to_string())
}

/// `value` or the contents of `file`, refusing both: which one wins would be a guess.
fn value_or_file(
    value: Option<String>,
    file: Option<&Path>,
    names: (&'static str, &'static str),
) -> Result<Option<String>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::Both {
            value: names.0,
            file: names.1,
        }),
        (None, Some(path)) => read_setting_file(names.1, path).map(Some),
        (value, None) => Ok(value),
    }
}

impl Config {
    /// Reads the settings given as files (`KEYWARD_SECRET_KEY_FILE`, `DATABASE_URL_FILE`) into
    /// their plain fields; runs once at start-up, before anything uses them.
    pub fn resolve_files(mut self) -> Result<Config, ConfigError> {
        self.secret_key = value_or_file(
            self.secret_key.take(),
            self.secret_key_file.as_deref(),
            (
                "KEYWARD_SECRET_KEY (--secret-key)",
                "KEYWARD_SECRET_KEY_FILE (--secret-key-file)",
            ),
        )?;
        self.database_url = value_or_file(
            self.database_url.take(),
            self.database_url_file.as_deref(),
            (
                "DATABASE_URL (--database-url)",
                "DATABASE_URL_FILE (--database-url-file)",
            ),
        )?;
        Ok(self)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("keyward.db").display()),
        }
    }

    pub fn base_url(&self) -> url::Url {
        self.base_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}/", self.listen))
                .expect("a socket address makes a valid URL")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let mut argv = vec!["keyward"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().config
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "keyward-config-{}-{}",
            std::process::id(),
            app::backend::crypto::random_base62(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_setting_file_is_read_without_its_trailing_newline() {
        let key = temp_file("key", &format!("{}\n", "ab".repeat(32)));
        let url = temp_file("url", "sqlite:///tmp/x.db \r\n");
        let c = config(&[
            "--secret-key-file",
            key.to_str().unwrap(),
            "--database-url-file",
            url.to_str().unwrap(),
        ])
        .resolve_files()
        .unwrap();
        assert_eq!(c.secret_key.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(c.database_url.as_deref(), Some("sqlite:///tmp/x.db"));
    }

    #[test]
    fn a_value_and_its_file_together_are_refused() {
        let key = temp_file("key", "cd");
        let err = config(&[
            "--secret-key",
            "ab",
            "--secret-key-file",
            key.to_str().unwrap(),
        ])
        .resolve_files()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("KEYWARD_SECRET_KEY (--secret-key)")
                && err.contains("KEYWARD_SECRET_KEY_FILE"),
            "{err}"
        );
    }

    #[test]
    fn an_unreadable_or_empty_file_is_named_never_shown() {
        let missing = std::env::temp_dir().join("keyward-no-such-dir/url");
        let err = config(&["--database-url-file", missing.to_str().unwrap()])
            .resolve_files()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DATABASE_URL_FILE") && err.contains(missing.to_str().unwrap()),
            "{err}"
        );
        let empty = temp_file("empty", " \n");
        let err = config(&["--secret-key-file", empty.to_str().unwrap()])
            .resolve_files()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("KEYWARD_SECRET_KEY_FILE") && err.contains("empty"),
            "{err}"
        );
    }
}
