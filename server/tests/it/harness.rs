//! The test harness: a fresh database per test (a temporary SQLite file, or a new PostgreSQL
//! database created from `TEST_DATABASE_URL`), the real router served on a real socket, and
//! an HTTP client with a cookie jar.
//!
//! PostgreSQL tests run when `TEST_DATABASE_URL` is set. Without it they are skipped with a
//! message, unless `KEYWARD_REQUIRE_POSTGRES=1` (set in CI), in which case they fail.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use app::backend::auth::Principal;
use app::backend::state::AppState;
use app::backend::verifier::TokenStore;
use app::domain::{Role, Sensitive};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use reqwest::StatusCode;
use serde_json::Value;
use server::config::{Config, LogFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body for one backend, or reports it skipped.
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    $crate::harness::bounded(super::$name($crate::harness::Backend::Sqlite)).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    if $crate::harness::postgres_enabled() {
                        $crate::harness::bounded(super::$name($crate::harness::Backend::Postgres))
                            .await;
                    }
                }
            }
        )*
    };
}

/// The longest a test may run. A test that hangs (a lock wait, a lost wake-up) fails with this
/// message instead of holding CI until its own limit kills the whole run with no name on it.
const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// The longest one request of a test may take: a request that hangs fails with its URL.
const REQUEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(90);

pub async fn bounded(test: impl std::future::Future<Output = ()>) {
    let mut test = std::pin::pin!(test);
    // The test (and its database) stays alive until its sessions have been read.
    let finished = tokio::select! {
        _ = &mut test => true,
        _ = tokio::time::sleep(TEST_LIMIT) => false,
    };
    if !finished {
        let sessions = postgres_sessions().await;
        panic!(
            "the test did not finish within {} s; PostgreSQL sessions of the test databases \
             (state, wait, transaction age, query):\n{sessions}",
            TEST_LIMIT.as_secs()
        );
    }
}

/// What every test database's sessions are doing: a test stuck on a lock shows who holds it.
async fn postgres_sessions() -> String {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let Some(url) = postgres_url() else {
        return "(PostgreSQL not in use)".into();
    };
    let query = async {
        let mut conn = AsyncPgConnection::establish(&url).await.ok()?;
        diesel::sql_query(
            "SELECT concat_ws(' | ', datname, pid, state, wait_event_type || ':' || wait_event, \
             (now() - xact_start)::text, left(query, 300)) AS line FROM pg_stat_activity \
             WHERE datname LIKE 'kw_test_%' ORDER BY datname, pid",
        )
        .load::<Row>(&mut conn)
        .await
        .ok()
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), query).await {
        Ok(Some(rows)) => rows
            .into_iter()
            .map(|r| r.line)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => "(could not read pg_stat_activity)".into(),
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

pub fn postgres_enabled() -> bool {
    if postgres_url().is_some() {
        return true;
    }
    if std::env::var("KEYWARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("KEYWARD_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run");
    }
    eprintln!("skipped: PostgreSQL test (set TEST_DATABASE_URL to run it)");
    false
}

fn random_suffix() -> String {
    app::backend::crypto::random_base62(10).to_lowercase()
}

/// A database (and data directory) that lives as long as the test.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub data_dir: PathBuf,
    pg: Option<(String, String)>, // admin url, database name
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let data_dir = std::env::temp_dir().join(format!("keyward-test-{}", random_suffix()));
        std::fs::create_dir_all(&data_dir).unwrap();
        match backend {
            Backend::Sqlite => TestDb {
                backend,
                url: format!("sqlite://{}", data_dir.join("keyward.db").display()),
                data_dir,
                pg: None,
            },
            Backend::Postgres => {
                let admin = postgres_url().expect("TEST_DATABASE_URL");
                let name = format!("kw_test_{}", random_suffix());
                let mut conn = AsyncPgConnection::establish(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
                conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    backend,
                    url: url.to_string(),
                    data_dir,
                    pg: Some((admin, name)),
                }
            }
        }
    }

    pub fn config(&self) -> Config {
        Config {
            data_dir: self.data_dir.clone(),
            database_url: Some(self.url.clone()),
            listen: "127.0.0.1:0".parse().unwrap(),
            base_url: Some(url::Url::parse("http://127.0.0.1/").unwrap()),
            session_idle_minutes: 60,
            session_max_hours: 12,
            log_format: LogFormat::Pretty,
            log_level: "warn".into(),
            secret_key: None,
            secret_key_file: None,
            database_url_file: None,
            trusted_proxies: Vec::new(),
            db_pool_size: 8,
            metrics_listen: None,
            webhook_allow_private: false,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any runtime we may block on: use a small one of our own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                // Bounded: a cleanup that waits on a lock must not hang the test run.
                rt.block_on(async move {
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                        if let Ok(mut conn) = AsyncPgConnection::establish(&admin).await {
                            // One statement per call: several in one string run as one
                            // implicit transaction, and DROP DATABASE refuses to run in one.
                            let _ = conn.batch_execute("SET lock_timeout = '20s'").await;
                            let _ = conn.batch_execute("SET statement_timeout = '25s'").await;
                            let _ = conn
                                .batch_execute(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    })
                    .await;
                });
            })
            .join();
        }
    }
}

/// The real router on a real socket.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db.config()).await
    }

    pub async fn start_with(config: Config) -> Self {
        Self::start_with_store(config, |store| store).await
    }

    /// The app with its verifier's token store wrapped by `wrap`.
    pub async fn start_with_store(
        mut config: Config,
        wrap: impl FnOnce(Arc<dyn TokenStore>) -> Arc<dyn TokenStore>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The port is only known now; the scheme a test asked for (https) is kept.
        let scheme = config
            .base_url
            .as_ref()
            .map_or("http".to_string(), |u| u.scheme().to_string());
        config.base_url = Some(url::Url::parse(&format!("{scheme}://{addr}/")).unwrap());
        let state = server::startup::build_state_with_store(&config, wrap)
            .await
            .expect("state builds");
        let router = server::http::router(state.clone());
        let background = state.spawn_background();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
            background,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        for task in self.background.drain(..) {
            task.abort();
        }
        self.state.flush_usage().await;
        self.state.db.close();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A browser-like client: cookie jar, no automatic redirects.
    pub fn client(&self) -> Client {
        Client::new(self.url(""))
    }

    /// Creates a user directly (as the local operator) and returns a client signed in as them.
    pub async fn user(&self, email: &str, role: Role) -> Client {
        self.create_user(email, role).await;
        let client = self.client();
        let (status, body) = client.login(email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "login of {email} failed: {body}");
        client
    }

    pub async fn create_user(&self, email: &str, role: Role) -> i64 {
        app::backend::service::team::create_with_password(
            &self.state,
            &Principal::operator(),
            email,
            "",
            role,
            Sensitive::new(PASSWORD),
        )
        .await
        .expect("user created")
        .id
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub bearer: Option<String>,
    pub jar: Arc<reqwest::cookie::Jar>,
}

impl Client {
    pub fn new(base: String) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_LIMIT)
            .build()
            .unwrap();
        Client {
            http,
            base,
            bearer: None,
            jar,
        }
    }

    /// The same identity over a new connection per request: a server that answers before
    /// reading a large body closes the connection, and a pooled client would then send the
    /// next request into a closed socket.
    pub fn without_keepalive(&self) -> Self {
        let http = reqwest::Client::builder()
            .cookie_provider(self.jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(REQUEST_LIMIT)
            .build()
            .unwrap();
        Client {
            http,
            base: self.base.clone(),
            bearer: self.bearer.clone(),
            jar: self.jar.clone(),
        }
    }

    /// A client that presents a token instead of a session.
    pub fn with_bearer(&self, token: &str) -> Self {
        let mut c = Client::new(self.base.clone());
        c.bearer = Some(token.to_string());
        c
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.bearer {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// POSTs a form to a server function: `post("tokens/revoke", &[("id", "3")])`.
    pub async fn post(&self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let rb = self
            .http
            .post(format!("{}/api/fn/{endpoint}", self.base))
            .form(form);
        let res = self.auth(rb).send().await.expect("request sent");
        read(res).await
    }

    /// GETs a server function with a query string.
    pub async fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        let rb = self
            .http
            .get(format!("{}/api/fn/{endpoint}", self.base))
            .query(query);
        let res = self.auth(rb).send().await.expect("request sent");
        read(res).await
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .auth(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .expect("request sent");
        let status = res.status();
        (status, res.text().await.unwrap_or_default())
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post("auth/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn me(&self) -> Value {
        let (status, body) = self.get("me", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = reqwest::Url::parse(&self.base).ok()?;
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .map(str::trim)
            .find_map(|c| c.strip_prefix("keyward_session=").map(str::to_string))
    }
}

pub async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Creates a service account through the API as `client`; returns its id.
pub async fn create_account(client: &Client, name: &str, role: &str) -> i64 {
    let (status, body) = client
        .post(
            "service-accounts/create",
            &[("name", name), ("role", role), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "create account {name}: {body}");
    body["id"].as_i64().unwrap()
}

/// Creates a token for a service account; returns (token id, secret).
pub async fn create_token(client: &Client, account_id: i64, name: &str) -> (i64, String) {
    let id = account_id.to_string();
    let (status, body) = client
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", id.as_str()),
                ("name", name),
                ("expires_in", "30"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "create token {name}: {body}");
    (
        body["token"]["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

/// Runs one SQL statement on the test database (for time travel: expiring a token). The
/// token cache of the test app is dropped, as a real change would do through the auth epoch.
pub async fn exec_sql(state: &AppState, sql: &str) {
    exec_sql_raw(state, sql).await;
    state.auth.invalidate();
}

/// Runs one SQL statement and nothing else: the token cache learns of it only through the
/// auth epoch, as it would of another process's change.
pub async fn exec_sql_raw(state: &AppState, sql: &str) {
    use diesel_async::RunQueryDsl;
    let mut pooled = state.db.get_writer().await.unwrap();
    match pooled.conn() {
        app::backend::db::Conn::Sqlite(c) => {
            diesel::sql_query(sql).execute(c).await.unwrap();
        }
        app::backend::db::Conn::Pg(c) => {
            diesel::sql_query(sql).execute(c).await.unwrap();
        }
    }
}

/// Polls `check` until it returns true or `within` has passed; returns whether it did.
pub async fn eventually<F, Fut>(within: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Counts rows matching a query of the form `SELECT COUNT(*) AS n FROM …`.
pub async fn count_sql(state: &AppState, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut pooled = state.db.get().await.unwrap();
    let rows: Vec<N> = match pooled.conn() {
        app::backend::db::Conn::Sqlite(c) => diesel::sql_query(sql).load(c).await.unwrap(),
        app::backend::db::Conn::Pg(c) => diesel::sql_query(sql).load(c).await.unwrap(),
    };
    rows[0].n
}

/// The real `keyward` binary as a child process, its output captured.
pub struct Proc {
    pub child: std::process::Child,
    pub port: u16,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Proc {
    /// Starts `keyward serve` on the test database and waits until it answers.
    pub async fn serve(db: &TestDb, extra_env: &[(&str, &str)]) -> Proc {
        let port = free_port();
        let tag = random_suffix();
        let stdout_path = db.data_dir.join(format!("stdout-{tag}.log"));
        let stderr_path = db.data_dir.join(format!("stderr-{tag}.log"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.arg("serve")
            .env("KEYWARD_DATA_DIR", &db.data_dir)
            .env("DATABASE_URL", &db.url)
            .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYWARD_BASE_URL", format!("http://127.0.0.1:{port}/"))
            .env("KEYWARD_LOG", "info")
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("keyward starts");
        let proc = Proc {
            child,
            port,
            stdout_path,
            stderr_path,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(res) = client
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
            {
                if res.status().is_success() {
                    return proc;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("keyward did not become ready: {}", proc.stderr());
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then wait for the graceful exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a `keyward` command against the test database: (exit ok, stdout, stderr).
pub fn keyward(db: &TestDb, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    keyward_env(db, args, stdin, &[])
}

/// `keyward` with more environment variables; an empty value removes a variable.
pub fn keyward_env(
    db: &TestDb,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
    cmd.args(args)
        .env("KEYWARD_DATA_DIR", &db.data_dir)
        .env("DATABASE_URL", &db.url)
        .env("KEYWARD_LOG", "warn");
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Everything the database holds, as bytes to search: the SQLite files, or every row of every
/// PostgreSQL table as text.
pub async fn database_contents(db: &TestDb) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(&db.data_dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name.starts_with("keyward.db") {
                    bytes.extend(std::fs::read(&path).unwrap());
                }
            }
            assert!(!bytes.is_empty());
            bytes
        }
        Backend::Postgres => {
            use diesel::sql_types::Text;
            use diesel_async::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Line {
                #[diesel(sql_type = Text)]
                line: String,
            }
            let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
            let tables: Vec<Line> = diesel::sql_query(
                "SELECT tablename AS line FROM pg_tables WHERE schemaname = 'public'",
            )
            .load(&mut conn)
            .await
            .unwrap();
            let mut text = String::new();
            for t in tables {
                let rows: Vec<Line> =
                    diesel::sql_query(format!("SELECT t::text AS line FROM \"{}\" t", t.line))
                        .load(&mut conn)
                        .await
                        .unwrap();
                for r in rows {
                    text.push_str(&r.line);
                    text.push('\n');
                }
            }
            assert!(text.contains("service_account"), "the dump covers the data");
            text.into_bytes()
        }
    }
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
