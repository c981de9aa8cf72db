//! From configuration to a running server: database URL, migrations, pool, key, state,
//! listener, background jobs, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::crypto::{KeyError, ServerKey};
use app::backend::db::migrate::{self, MigrationError};
use app::backend::db::{ConnectError, DatabaseUrl, DatabaseUrlError, Db, PoolOptions};
use app::backend::repo;
use app::backend::repo::token_store::DbTokenStore;
use app::backend::service::login;
use app::backend::state::{AppConfig, AppState};
use app::backend::verifier::{AuthRuntime, TokenStore};
use leptos::config::LeptosOptions;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DatabaseUrl(#[from] DatabaseUrlError),
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the secret key does not match the one this database was set up with (fingerprint {expected}, this process has {actual}); every token would be rejected. Start with the original KEYWARD_SECRET_KEY or data directory")]
    KeyMismatch { expected: String, actual: String },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("database error during start-up: {0}")]
    Database(String),
}

/// Opens (and migrates) the configured database. Used by the server and every command.
pub async fn open_database(config: &Config) -> Result<(DatabaseUrl, Db), StartError> {
    let url = DatabaseUrl::parse(&config.database_url())?;
    let sqlite = match &url {
        DatabaseUrl::Sqlite(path) => Some(path.as_path()),
        _ => None,
    };
    if sqlite.is_some() || config.secret_key.is_none() {
        crate::data_dir::prepare(&config.data_dir, sqlite).map_err(|source| {
            StartError::DataDir {
                path: config.data_dir.display().to_string(),
                source,
            }
        })?;
    }
    let applied = migrate::run(&url).await?;
    if !applied.is_empty() {
        tracing::info!(versions = ?applied, "applied database migrations");
    }
    let db = Db::connect(
        &url,
        &PoolOptions {
            max_connections: config.db_pool_size.max(1),
            ..PoolOptions::default()
        },
    )
    .await?;
    Ok((url, db))
}

/// Builds the shared state: database, key (checked against the database), settings.
pub async fn build_state(config: &Config) -> Result<AppState, StartError> {
    build_state_with_store(config, |store| store).await
}

/// `build_state`, with the verifier's token store passed through `wrap` first (tests wrap it
/// to hold a load open at a chosen moment).
pub async fn build_state_with_store(
    config: &Config,
    wrap: impl FnOnce(Arc<dyn TokenStore>) -> Arc<dyn TokenStore>,
) -> Result<AppState, StartError> {
    let (url, db) = open_database(config).await?;
    tracing::info!(database = %url.redacted(), backend = url.backend_name(), "database ready");
    let key = ServerKey::load_or_create(config.secret_key.as_deref(), &config.data_dir)?;
    check_key(&db, &key).await?;
    let sqlite = match &url {
        DatabaseUrl::Sqlite(path) => Some(path.as_path()),
        _ => None,
    };
    for (path, mode) in crate::data_dir::loose(&config.data_dir, sqlite) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "readable by other users of this machine: the data directory should be 0700 and its files 0600 (chmod 700 the directory, chmod 600 the files)"
        );
    }
    let base_url = config.base_url();
    let app_config = AppConfig {
        secure_cookies: base_url.scheme() == "https",
        base_url,
        session_idle: time::Duration::minutes(i64::from(config.session_idle_minutes.max(1))),
        session_max: time::Duration::hours(i64::from(config.session_max_hours.max(1))),
        trusted_proxies: config.trusted_proxies.clone(),
        webhook_allow_private: config.webhook_allow_private,
    };
    // The verifier reads tokens from the database through its store; the state ties it to
    // everything else.
    let key = Arc::new(key);
    let store = wrap(Arc::new(DbTokenStore::new(db.clone())));
    let auth = Arc::new(AuthRuntime::new(
        store,
        key.clone(),
        app::domain::timefmt::now,
    ));
    Ok(AppState::assemble(
        db,
        key,
        app_config,
        leptos_options(),
        auth,
    ))
}

/// The first process to start stores the key's fingerprint; later ones must match it.
async fn check_key(db: &Db, key: &ServerKey) -> Result<(), StartError> {
    let err = |e: &dyn std::fmt::Display| StartError::Database(e.to_string());
    let mut pooled = db.get_writer().await.map_err(|e| err(&e))?;
    let mut conn = pooled.conn();
    let actual = key.fingerprint();
    match repo::settings::get(&mut conn, repo::settings::KEY_FINGERPRINT)
        .await
        .map_err(|e| err(&e))?
    {
        Some(expected) if expected != actual => Err(StartError::KeyMismatch { expected, actual }),
        Some(_) => Ok(()),
        None => {
            let now = app::backend::service::now();
            repo::settings::set(&mut conn, repo::settings::KEY_FINGERPRINT, &actual, now)
                .await
                .map_err(|e| err(&e))?;
            Ok(())
        }
    }
}

/// Where the compiled site (wasm, js, css) lives: cargo-leptos's `LEPTOS_*` variables, or
/// the defaults of this repository's layout when run from its root.
pub fn leptos_options() -> LeptosOptions {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    LeptosOptions::builder()
        .output_name(var("LEPTOS_OUTPUT_NAME", "keyward"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .build()
}

/// Binds the metrics listener (a failure stops start-up: the operator asked for it) and serves
/// it in the background.
async fn serve_metrics(
    addr: SocketAddr,
    state: AppState,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let handle = crate::metrics::install();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let addr = listener.local_addr().unwrap_or(addr);
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    let app = crate::metrics::router(state, handle);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    }))
}

/// Runs the web server until SIGINT/SIGTERM, then drains requests and closes the pool.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let state = build_state(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(config.listen);
    // One line says what runs where: version, backend (never the URL's password) and address.
    tracing::info!(
        version = crate::VERSION,
        backend = state.db.backend_name(),
        %addr,
        url = %state.config.base_url,
        "Keyward is listening"
    );

    announce_setup(&state).await?;
    let mut background = state.spawn_background();
    if let Some(metrics_addr) = config.metrics_listen {
        background.push(serve_metrics(metrics_addr, state.clone()).await?);
    }
    background.push(tokio::spawn(housekeeping(state.clone())));

    let app = crate::http::router(state.clone());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|source| StartError::Listen { addr, source })?;
    for task in background {
        task.abort();
    }
    // Usage recorded since the last batch is written before the pool closes, within a bound:
    // a database that does not answer must not keep the process past its stop timeout.
    if tokio::time::timeout(Duration::from_secs(20), state.flush_usage())
        .await
        .is_err()
    {
        tracing::warn!("token usage not written at shutdown: the database did not answer in 20 s");
    }
    state.db.close();
    tracing::info!("Keyward stopped");
    Ok(())
}

/// With no users yet, prints the one-time setup URL (on standard output, not in the log).
async fn announce_setup(state: &AppState) -> Result<(), StartError> {
    match login::issue_setup_code(state).await {
        Ok(Some(code)) => {
            let url = state.config.link(&format!("/setup?code={}", code.expose()));
            println!();
            println!("  Keyward has no users yet. Create the first Admin here (the link works once, for 24 hours):");
            println!();
            println!("      {url}");
            println!();
            tracing::info!("first start: the one-time setup URL was printed on standard output");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(StartError::Database(e.to_string())),
    }
}

/// Deletes expired sessions and old login failures every few minutes.
async fn housekeeping(state: AppState) {
    use tower_sessions::session_store::ExpiredDeletion;
    let store = app::backend::db::session_store::DbSessionStore::new(state.db.clone());
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
        if let Err(e) = state.db.optimize(false).await {
            tracing::warn!(error = %e, "could not refresh query statistics");
        }
        // The longest throttling window (the per-account hour) decides what may go.
        let before = app::backend::service::now() - app::domain::limits::LOGIN_ACCOUNT_WINDOW_SECS;
        if let Ok(mut pooled) = state.db.get_writer().await {
            if let Err(e) =
                repo::login_failures::delete_older_than(&mut pooled.conn(), before).await
            {
                tracing::warn!(error = %e, "could not prune login failures");
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
