//! Everything a request handler needs, built once at start-up and shared by every request.

use std::ops::Deref;
use std::sync::Arc;

use ipnet::IpNet;
use leptos::config::LeptosOptions;

use super::clock::Clock;
use super::crypto::ServerKey;
use super::db::Db;
use super::hashing::HashGate;
use super::repo::token_store::DbTokenStore;
use super::verifier::AuthRuntime;
use super::webhooks::worker::Worker;

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The public URL users reach Keyward at (links in e-mails and the setup URL use it).
    pub base_url: url::Url,
    /// Cookies get the `Secure` flag when the base URL is https.
    pub secure_cookies: bool,
    /// Sessions end after this long without a request.
    pub session_idle: time::Duration,
    /// Sessions end this long after sign-in, however busy (the absolute lifetime).
    pub session_max: time::Duration,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Webhooks may go to private, loopback and link-local addresses, over plain http
    /// (`KEYWARD_WEBHOOK_ALLOW_PRIVATE=1`: tests and labs).
    pub webhook_allow_private: bool,
}

impl AppConfig {
    pub fn link(&self, path_and_query: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }

    /// The origin (`scheme://host[:port]`) requests from our own pages carry.
    pub fn origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }
}

pub struct StateInner {
    pub db: Db,
    pub key: Arc<ServerKey>,
    pub config: AppConfig,
    pub leptos_options: LeptosOptions,
    /// Token cache, usage batch and rate limits of this process.
    pub auth: Arc<AuthRuntime>,
    /// Bounds concurrent password hashing (sign-in).
    pub hashing: HashGate,
    /// The time background work reads (tests move it forward).
    pub clock: Clock,
}

#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

impl AppState {
    /// The state over the database, with the verifier reading tokens from it.
    pub fn new(db: Db, key: ServerKey, config: AppConfig, leptos_options: LeptosOptions) -> Self {
        let key = Arc::new(key);
        let store = Arc::new(DbTokenStore::new(db.clone()));
        let auth = Arc::new(AuthRuntime::new(
            store,
            key.clone(),
            crate::domain::timefmt::now,
        ));
        Self::assemble(db, key, config, leptos_options, auth)
    }

    /// Ties the parts together (the server builds the verifier; tests may give it another
    /// store).
    pub fn assemble(
        db: Db,
        key: Arc<ServerKey>,
        config: AppConfig,
        leptos_options: LeptosOptions,
        auth: Arc<AuthRuntime>,
    ) -> Self {
        Self(Arc::new(StateInner {
            db,
            key,
            config,
            leptos_options,
            auth,
            hashing: HashGate::for_this_machine(),
            clock: Clock::system(),
        }))
    }

    /// The webhook delivery worker of this process.
    pub fn webhook_worker(&self) -> Worker {
        Worker {
            db: self.db.clone(),
            key: self.key.clone(),
            clock: self.clock.clone(),
            allow_private: self.config.webhook_allow_private,
            base_url: self.config.base_url.to_string(),
        }
    }

    /// Starts the per-process background work: the auth-epoch watcher, the usage writer and
    /// the webhook delivery worker.
    /// Abort the handles at shutdown, then call `flush_usage` once more (a write in progress
    /// finishes first: flushes run in tasks of their own, one at a time).
    pub fn spawn_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(self.auth.clone().watch_epoch()),
            tokio::spawn(self.auth.clone().flush_usage_forever()),
            tokio::spawn(self.webhook_worker().run()),
        ]
    }

    /// A transaction that changes something cached credentials depend on (it must bump the
    /// auth epoch inside): other processes notice through the epoch, this one at once.
    pub async fn auth_transaction<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: for<'r> FnOnce(
                &'r mut super::db::Conn<'_>,
            ) -> futures::future::BoxFuture<'r, Result<R, E>>
            + Send,
        E: From<super::db::DbError> + From<diesel::result::Error> + Send,
        R: Send,
    {
        let result = self.db.transaction(f).await;
        if result.is_ok() {
            self.auth.invalidate();
        }
        result
    }

    pub async fn flush_usage(&self) {
        if let Err(e) = self.auth.flush_usage().await {
            tracing::warn!(error = %e, "could not write token usage at shutdown");
        }
    }
}

impl Deref for AppState {
    type Target = StateInner;

    fn deref(&self) -> &StateInner {
        &self.0
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
