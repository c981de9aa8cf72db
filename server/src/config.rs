//! Configuration: every flag is also an environment variable, and the variable names are the
//! public interface operators script against.

use std::net::SocketAddr;
use std::path::PathBuf;

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
        global = true
    )]
    pub data_dir: PathBuf,

    /// sqlite://PATH (or a file path) or postgres://USER@HOST/DB. Default: SQLite in the data
    /// directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Address to listen on.
    #[arg(
        long,
        env = "KEYWARD_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Public URL of Keyward (links, setup URL, cookie security). Default: http://<listen>.
    /// With an https URL, cookies are marked Secure.
    #[arg(long, env = "KEYWARD_BASE_URL", global = true)]
    pub base_url: Option<url::Url>,

    /// Sign a session out after this many minutes without a request.
    #[arg(
        long,
        env = "KEYWARD_SESSION_IDLE_MINUTES",
        default_value_t = 120,
        global = true
    )]
    pub session_idle_minutes: u32,

    /// Sign a session out this many hours after sign-in, however busy it is.
    #[arg(
        long,
        env = "KEYWARD_SESSION_MAX_HOURS",
        default_value_t = 12,
        global = true
    )]
    pub session_max_hours: u32,

    /// Log format.
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,

    /// Log level or filter (tracing syntax, e.g. `info` or `keyward=debug,info`).
    #[arg(long, env = "KEYWARD_LOG", default_value = "info", global = true)]
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

    /// Comma-separated CIDR ranges of reverse proxies whose X-Forwarded-For is trusted.
    #[arg(
        long,
        env = "KEYWARD_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Serve Prometheus metrics at http://<this address>/metrics (e.g. 127.0.0.1:9464). Off
    /// when unset. Use an address only the scraper reaches: the endpoint has no sign-in.
    #[arg(long, env = "KEYWARD_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Maximum database connections of this process.
    #[arg(
        long,
        env = "KEYWARD_DB_POOL_SIZE",
        default_value_t = 16,
        global = true
    )]
    pub db_pool_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage people who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage service accounts.
    #[command(subcommand, name = "service-account")]
    ServiceAccount(ServiceAccountCommand),
    /// Manage tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Development helpers (never on production data).
    #[command(subcommand)]
    Dev(DevCommand),
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
        #[arg(long)]
        email: String,
        /// Give the user the Admin role (otherwise --role, default viewer).
        #[arg(long)]
        admin: bool,
        #[arg(long, default_value = "viewer")]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Clear an account's failed sign-ins, so that it may sign in again at once (audited).
    Unlock {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints the secret (and nothing else) on standard output, once.
    Create {
        #[arg(long = "service-account")]
        service_account: String,
        #[arg(long)]
        name: String,
        /// `30d`, any number of days, or `never`.
        #[arg(long = "expires-in", default_value = "30d")]
        expires_in: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The expiry slides: valid --expires-in days after the last use.
        #[arg(long)]
        sliding: bool,
        /// Comma-separated CIDR ranges the token may be used from.
        #[arg(long = "allowed-cidrs", default_value = "")]
        allowed_cidrs: String,
        /// Requests per minute (default: the organisation setting).
        #[arg(long = "rate-limit", default_value = "")]
        rate_limit: String,
    },
    /// List tokens (of one service account with --service-account).
    List {
        #[arg(long = "service-account")]
        service_account: Option<String>,
    },
    /// Revoke a token by its id (the first column of `token list`).
    Revoke { id: i64 },
}

impl Config {
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
