//! Security regressions (issue 10): each test fails on the code before its fix.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::backend::verifier::cache::CachedToken;
use app::backend::verifier::usage::UsageBatch;
use app::backend::verifier::TokenStore;
use app::domain::Role;
use app::errors::AppError;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

backends!(
    next_redirect_never_leaves_the_site,
    csv_export_neutralises_formulas,
    admins_cannot_obtain_a_secret_for_someone_elses_personal_token,
    leak_report_of_an_expired_previous_secret_keeps_the_current_token,
    sliding_expiry_stops_at_the_maximum_lifetime,
    hsts_when_the_base_url_is_https,
    data_directory_and_database_files_are_private,
    sessions_end_after_their_absolute_lifetime,
    concurrent_account_edits_do_not_lose_an_update,
    parallel_wrong_passwords_verify_at_most_five,
    revocation_during_a_cache_fill_is_not_cached,
    password_hashing_is_bounded_and_overflow_gets_503,
    anonymous_failed_forms_leave_no_server_state,
    throttle_is_per_account_and_address_and_unlockable,
    session_id_changes_at_sign_in_and_is_stored_hashed,
    revocation_by_another_process_during_a_cache_fill_is_not_cached,
    a_stuck_sign_in_lock_times_out_with_503,
    flash_cookie_is_signed_fresh_and_for_anonymous_forms_only,
    an_oversized_allowlist_is_refused_before_parsing,
);

async fn whoami(app: &TestApp, secret: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(secret)
        .send()
        .await
        .expect("answered");
    read(res).await
}

async fn raw_get(client: &Client, path: &str) -> reqwest::Response {
    tokio::time::timeout(
        Duration::from_secs(30),
        client
            .http
            .get(format!("{}{path}", client.base))
            .header("accept", "text/html")
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("GET {path} did not answer"))
    .expect("answered (the connection was not dropped)")
}

fn location(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
}

/// ASVS 5.1.5: `next=` only ever leads to a path on this site; odd input never panics.
async fn next_redirect_never_leaves_the_site(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    for (next, expected) in [
        ("/%09/evil.example", "/"),
        ("/%0A/x", "/"),
        ("/%0D%0ASet-Cookie:%20a=b", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%5C/evil.example", "/"),
        ("/team", "/team"),
    ] {
        let res = raw_get(&admin, &format!("/login?next={next}")).await;
        assert!(res.status().is_redirection(), "{next}: {}", res.status());
        assert_eq!(location(&res).as_deref(), Some(expected), "{next}");
    }
    // The sign-in form's own redirect, with JavaScript (header) and without (303).
    let fresh = app.client();
    let res = fresh
        .http
        .post(fresh.url_of("/api/fn/auth/login"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", PASSWORD),
            ("next", "/\t/evil.example"),
        ])
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("answered");
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(location(&res).as_deref(), Some("/"));
    let plain = app.client();
    let res = plain
        .http
        .post(plain.url_of("/api/fn/auth/login"))
        .header("accept", "text/html")
        .form(&[
            ("email", "admin@example.com"),
            ("password", PASSWORD),
            ("next", "/\n/evil.example"),
        ])
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res).as_deref(), Some("/"));
    app.stop().await;
}

/// ASVS 5.3.10 (OWASP CSV injection): no exported cell starts a formula.
async fn csv_export_neutralises_formulas(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let aid = create_account(&admin, "ci_bot", "viewer").await.to_string();
    let evil = "=HYPERLINK(\"http://evil.example\",\"x\")";
    for (name, description) in [
        ("deploy", evil),
        ("backup", "+1+cmd|' /C calc'!A0"),
        ("third", "@SUM(A1)"),
        ("fourth", "-2+3"),
    ] {
        let (status, body) = admin
            .post(
                "service-accounts/tokens/create",
                &[
                    ("account_id", &aid),
                    ("name", name),
                    ("expires_in", "30"),
                    ("description", description),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, text) = admin.page("/tokens/export.csv").await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        rows += 1;
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell that a spreadsheet runs: {cell:?}"
            );
        }
    }
    assert_eq!(rows, 4);
    assert!(text.contains("'=HYPERLINK"), "{text}");
    app.stop().await;
}

/// ASVS 4.1.3 / 4.2.1: personal tokens are private to their owner; Admins may revoke them but
/// never obtain a secret for them.
async fn admins_cannot_obtain_a_secret_for_someone_elses_personal_token(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let ada = app.user("ada@example.com", Role::PowerUser).await;
    let (status, body) = ada
        .post(
            "me/tokens/create",
            &[("name", "laptop"), ("expires_in", "7")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["token"]["id"].to_string();
    let secret = body["secret"].as_str().unwrap().to_string();

    let (status, body) = admin
        .post("tokens/rotate", &[("id", &id), ("grace", "none")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.get("secret").is_none(), "{body}");
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::OK, "still valid");
    assert_eq!(
        count_sql(
            &app.state,
            &format!("SELECT COUNT(*) AS n FROM tokens WHERE id = {id} AND rotated_at IS NOT NULL")
        )
        .await,
        0,
        "nothing was rotated"
    );

    // The owner may rotate; the Admin may still revoke.
    let (status, body) = ada
        .post("tokens/rotate", &[("id", &id), ("grace", "none")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = admin.post("tokens/revoke", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A leak report of an old secret whose grace has ended names nothing: the current secret
/// stays valid.
async fn leak_report_of_an_expired_previous_secret_keeps_the_current_token(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (id, old) = create_token(&admin, account, "deploy").await;
    let (status, body) = admin
        .post("tokens/rotate", &[("id", &id.to_string()), ("grace", "1h")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let current = body["secret"].as_str().unwrap().to_string();
    let past = app::backend::service::now() - 60;
    exec_sql(
        &app.state,
        &format!("UPDATE tokens SET previous_secret_expires_at = {past} WHERE id = {id}"),
    )
    .await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/tokens/report-leak"))
        .json(&json!({ "tokens": [old] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let (status, body) = whoami(&app, &current).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the current secret still works: {body}"
    );
    assert_eq!(
        count_sql(
            &app.state,
            &format!("SELECT COUNT(*) AS n FROM tokens WHERE id = {id} AND revoked_at IS NULL")
        )
        .await,
        1
    );

    // Within the grace the old secret is still this token's: reporting it revokes.
    let (id2, old2) = create_token(&admin, account, "second").await;
    let (status, _) = admin
        .post(
            "tokens/rotate",
            &[("id", &id2.to_string()), ("grace", "1h")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/tokens/report-leak"))
        .json(&json!({ "tokens": [old2] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        count_sql(
            &app.state,
            &format!(
                "SELECT COUNT(*) AS n FROM tokens WHERE id = {id2} AND revoke_reason = 'leaked'"
            )
        )
        .await,
        1
    );
    app.stop().await;
}

/// A busy sliding-expiry token still dies at creation + the organisation's maximum lifetime.
async fn sliding_expiry_stops_at_the_maximum_lifetime(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let (status, body) = admin
        .post(
            "settings/update",
            &[
                ("max_token_lifetime_days", "30"),
                ("default_rate_limit_per_minute", "600"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let aid = create_account(&admin, "ci_bot", "viewer").await.to_string();
    let (status, body) = admin
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", aid.as_str()),
                ("name", "sliding"),
                ("expires_in", "30"),
                ("sliding", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["token"]["id"].as_i64().unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    // Created 25 days ago: the maximum ends in 5 days, whatever the use.
    let now = app::backend::service::now();
    let created = now - 25 * 86_400;
    exec_sql(
        &app.state,
        &format!("UPDATE tokens SET created_at = {created} WHERE id = {id}"),
    )
    .await;
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::OK);
    app.state.flush_usage().await;
    let cap = created + 30 * 86_400;
    assert_eq!(
        count_sql(
            &app.state,
            &format!(
                "SELECT COUNT(*) AS n FROM tokens WHERE id = {id} AND expires_at = {cap} AND last_used_at IS NOT NULL"
            )
        )
        .await,
        1,
        "slid, but only up to creation + 30 days"
    );
    app.stop().await;
}

/// ASVS 9.1.1 / 14.4.5: HSTS when Keyward is served over https, not over plain http.
async fn hsts_when_the_base_url_is_https(b: Backend) {
    let db = TestDb::new(b).await;
    let mut config = db.config();
    config.base_url = Some(url::Url::parse("https://keyward.example/").unwrap());
    let https = TestApp::start_with(config).await;
    let res = reqwest::get(https.url("/healthz")).await.unwrap();
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
    https.stop().await;
    // A database of its own: the first app's SQLite pool may still be closing.
    let plain_db = TestDb::new(b).await;
    let http = TestApp::start(&plain_db).await;
    let res = reqwest::get(http.url("/healthz")).await.unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"));
    http.stop().await;
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// ASVS 6.1.1 / 14.1.3: the data directory is 0700, the database files and key 0600, and a
/// looser existing directory is reported at start-up.
#[cfg(unix)]
async fn data_directory_and_database_files_are_private(b: Backend) {
    let db = TestDb::new(b).await;
    let dir = db.data_dir.join("private");
    let mut config = db.config();
    config.data_dir = dir.clone();
    if b == Backend::Sqlite {
        config.database_url = Some(format!("sqlite://{}", dir.join("keyward.db").display()));
    }
    let app = TestApp::start_with(config).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("secret.key")), 0o600);
    if b == Backend::Sqlite {
        assert_eq!(mode(&dir.join("keyward.db")), 0o600);
        for suffix in ["-wal", "-shm"] {
            let path = dir.join(format!("keyward.db{suffix}"));
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }
    app.stop().await;

    // The harness made the test's own data directory 0755: the server says so. (Same key as
    // above: the database remembers it.)
    assert_eq!(mode(&db.data_dir), 0o755);
    std::fs::copy(dir.join("secret.key"), db.data_dir.join("secret.key")).unwrap();
    let mut proc = Proc::serve(&db, &[]).await;
    proc.stop();
    let out = format!("{}{}", proc.stdout(), proc.stderr());
    assert!(
        out.contains("readable by other users"),
        "no warning about the 0755 data directory: {out}"
    );
}

#[cfg(not(unix))]
async fn data_directory_and_database_files_are_private(_b: Backend) {}

/// ASVS 3.3.2: a session ends 12 hours after sign-in however busy it is.
async fn sessions_end_after_their_absolute_lifetime(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let ada = app.user("ada@example.com", Role::Viewer).await;
    assert_eq!(ada.me().await["email"], "ada@example.com");
    let user_id = count_sql(
        &app.state,
        "SELECT id AS n FROM users WHERE email = 'ada@example.com'",
    )
    .await;
    let epoch = count_sql(
        &app.state,
        &format!("SELECT session_epoch AS n FROM users WHERE id = {user_id}"),
    )
    .await;
    // Eleven hours in: still signed in (and kept alive by use).
    let rewrite = |hours: i64| {
        let at = app::backend::service::now() - hours * 3600;
        format!(
            "UPDATE sessions SET data = '{{\"auth\":{{\"user_id\":{user_id},\"epoch\":{epoch},\"signed_in_at\":{at}}}}}' WHERE user_id = {user_id}"
        )
    };
    exec_sql(&app.state, &rewrite(11)).await;
    assert_eq!(ada.me().await["email"], "ada@example.com");
    // Thirteen hours in: over, although the session was used a moment ago.
    exec_sql(&app.state, &rewrite(13)).await;
    assert_eq!(ada.me().await, Value::Null);
    app.stop().await;
}

/// On PostgreSQL two edits of one service account at once must not lose one (SQLite's
/// writers are serialised, so only PostgreSQL can show the lost update).
async fn concurrent_account_edits_do_not_lose_an_update(b: Backend) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    if b != Backend::Postgres {
        return;
    }
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let id = create_account(&admin, "ci_bot", "viewer").await;
    // Another edit (giving the introspection permission) is in flight, not yet committed.
    let mut other = AsyncPgConnection::establish(&db.url).await.unwrap();
    other
        .batch_execute(&format!(
            "BEGIN; UPDATE service_accounts SET can_introspect = true WHERE id = {id}"
        ))
        .await
        .unwrap();
    let edit = {
        let admin = admin.clone();
        tokio::spawn(async move {
            admin
                .post(
                    "service-accounts/update",
                    &[
                        ("id", id.to_string().as_str()),
                        ("description", "edited"),
                        ("role", "viewer"),
                    ],
                )
                .await
        })
    };
    // Wait until the edit is blocked on the other transaction's row lock.
    let blocked = eventually(Duration::from_secs(10), || async {
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await
            > 0
    })
    .await;
    assert!(blocked, "the edit never waited for the row");
    other.batch_execute("COMMIT").await.unwrap();
    let (status, body) = edit.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        count_sql(
            &app.state,
            &format!(
                "SELECT COUNT(*) AS n FROM service_accounts WHERE id = {id} AND can_introspect AND description = 'edited'"
            )
        )
        .await,
        1,
        "both edits survive"
    );
    app.stop().await;
}

/// ASVS 2.2.1: the attempt is reserved before the password is checked, so 30 parallel wrong
/// passwords get at most five argon2 verifications.
async fn parallel_wrong_passwords_verify_at_most_five(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Admin).await;
    let attempts = (0..30).map(|_| {
        let client = app.client();
        async move { client.login("ada@example.com", "wrong password!").await.0 }
    });
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert!(
        checked <= 5,
        "{checked} passwords were checked: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| [
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::SERVICE_UNAVAILABLE
    ]
    .contains(s)));
    assert!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM login_failures").await <= 5,
        "at most five failures recorded"
    );
    app.stop().await;
}

type Hold = (
    tokio::sync::oneshot::Sender<()>,
    tokio::sync::oneshot::Receiver<()>,
);

/// The real store, except that a test can hold the next token load open after it has read
/// the database (before the verifier caches it): the window of the cache-fill race.
struct HoldingStore {
    inner: Arc<dyn TokenStore>,
    hold: Arc<Mutex<Option<Hold>>>,
}

#[async_trait::async_trait]
impl TokenStore for HoldingStore {
    async fn epoch(&self) -> Result<i64, AppError> {
        self.inner.epoch().await
    }

    async fn load(&self, public_id: &str) -> Result<Option<CachedToken>, AppError> {
        let token = self.inner.load(public_id).await?;
        let hold = self.hold.lock().unwrap().take();
        if let Some((reached, release)) = hold {
            let _ = reached.send(());
            let _ = release.await;
        }
        Ok(token)
    }

    async fn write_usage(&self, batch: &UsageBatch) -> Result<(), AppError> {
        self.inner.write_usage(batch).await
    }
}

/// Where the revocation in `revoked_during_a_held_cache_fill` comes from.
enum Revoker {
    ThisProcess,
    AnotherProcess,
}

/// A token load that read the row just before a revocation committed must not leave the
/// revoked token cached as valid.
async fn revocation_during_a_cache_fill_is_not_cached(b: Backend) {
    revoked_during_a_held_cache_fill(b, Revoker::ThisProcess).await;
}

/// The same race when the revocation is another process's.
async fn revocation_by_another_process_during_a_cache_fill_is_not_cached(b: Backend) {
    revoked_during_a_held_cache_fill(b, Revoker::AnotherProcess).await;
}

/// Holds a token load open (the row read, valid), revokes the token `by` this or another
/// process, releases the load, then checks the token is refused from then on.
async fn revoked_during_a_held_cache_fill(b: Backend, by: Revoker) {
    let db = TestDb::new(b).await;
    let hold: Arc<Mutex<Option<Hold>>> = Arc::default();
    let app = {
        let hold = hold.clone();
        TestApp::start_with_store(db.config(), move |inner| {
            Arc::new(HoldingStore { inner, hold })
        })
        .await
    };
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (id, secret) = create_token(&admin, account, "deploy").await;
    // The cache is in use (the epoch was confirmed) and empty.
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.state.auth.cache.is_fresh()
        })
        .await
    );
    app.state.auth.invalidate();

    let (reached_tx, reached) = tokio::sync::oneshot::channel();
    let (release, release_rx) = tokio::sync::oneshot::channel();
    *hold.lock().unwrap() = Some((reached_tx, release_rx));
    let first = {
        let url = app.url("/api/v1/whoami");
        let secret = secret.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(secret)
                .send()
                .await
                .expect("answered")
                .status()
        })
    };
    reached.await.expect("the load was held");
    // The load has read the token (valid); the revocation commits now.
    match by {
        Revoker::ThisProcess => {
            let (status, body) = admin
                .post("tokens/revoke", &[("id", &id.to_string())])
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        Revoker::AnotherProcess => {
            // SQL only, as another process commits it: this one learns of it only through
            // the auth epoch (no local invalidation).
            let now = app::backend::service::now();
            exec_sql_raw(
                &app.state,
                &format!(
                    "UPDATE tokens SET revoked_at = {now}, revoked_by_label = 'elsewhere' WHERE id = {id}"
                ),
            )
            .await;
            exec_sql_raw(
                &app.state,
                "UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1",
            )
            .await;
        }
    }
    // Let the epoch poller see the revocation, before the held load goes on.
    tokio::time::sleep(Duration::from_millis(600)).await;
    release.send(()).unwrap();
    assert_eq!(
        first.await.unwrap(),
        StatusCode::OK,
        "began before the revocation"
    );
    for _ in 0..3 {
        let (status, body) = whoami(&app, &secret).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked: {body}");
        assert_eq!(body["code"], "revoked");
    }
    app.stop().await;
}

async fn login_from(app: &TestApp, email: &str, password: &str, ip: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/fn/auth/login"))
        .header("x-forwarded-for", ip)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("answered")
}

fn behind_proxy(db: &TestDb) -> server::config::Config {
    let mut config = db.config();
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    config
}

/// ASVS 2.2.1 / 11.1.4: at most `permits` password hashes at once, a bounded queue, and 503
/// with Retry-After beyond it; a 503 is not a failed attempt.
async fn password_hashing_is_bounded_and_overflow_gets_503(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start_with(behind_proxy(&db)).await;
    let gate = &app.state.hashing;
    let queued = gate.max_waiting();
    // Every permit is taken: the next callers queue, and the queue is full at `queued`.
    let held = gate.occupy().await.expect("permits");
    let mut waiting = Vec::new();
    for i in 0..queued {
        let url = app.url("/api/fn/auth/login");
        waiting.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", format!("198.51.100.{}", i % 250 + 1))
                .form(&[
                    ("email", format!("nobody{i}@example.com")),
                    ("password", "wrong password!".to_string()),
                ])
                .send()
                .await
                .expect("answered")
                .status()
        }));
    }
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.state.hashing.waiting() == queued
        })
        .await,
        "the queue filled"
    );
    for i in 0..3 {
        let res = login_from(
            &app,
            &format!("overflow{i}@example.com"),
            "wrong password!",
            &format!("203.0.113.{}", i + 1),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            Some("1")
        );
    }
    drop(held);
    // The queued ones are checked once the permits are free (or, on a machine too slow to
    // get there within the short wait, told to come back).
    let mut checked = 0;
    for w in waiting {
        let status = w.await.unwrap();
        assert!(
            [
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(&status),
            "{status}"
        );
        checked += i64::from(status == StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(gate.peak() <= gate.permits());
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM login_failures").await,
        checked,
        "the 503s did not count as failed attempts"
    );
    app.stop().await;
}

/// An anonymous client's failed no-JS form posts leave no rows behind (the echo travels in a
/// signed cookie), and the echo is bounded.
async fn anonymous_failed_forms_leave_no_server_state(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let client = app.client();
    let huge = format!("{}@example.com", "a".repeat(60 * 1024));
    for email in [huge.as_str(), "ada@example.com"] {
        let res = client
            .http
            .post(client.url_of("/api/fn/auth/login"))
            .header("accept", "text/html")
            .form(&[("email", email), ("password", "wrong password!")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        for cookie in res.headers().get_all("set-cookie") {
            assert!(cookie.len() < 4096, "{} bytes of cookie", cookie.len());
        }
    }
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM sessions").await,
        0,
        "no session rows for anonymous failures"
    );
    // The page shows the outcome once, with the e-mail address refilled.
    let (status, html) = client.page("/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("The e-mail address or password is incorrect."),
        "{html}"
    );
    assert!(html.contains("ada@example.com"));
    let (_, again) = client.page("/login").await;
    assert!(!again.contains("The e-mail address or password is incorrect."));
    app.stop().await;
}

/// The page a fresh anonymous browser gets with only `cookie` set.
async fn login_page_with_cookie(app: &TestApp, cookie: &str) -> String {
    let client = app.client();
    let res = client
        .http
        .get(client.url_of("/login"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// The no-JS flash cookie is honoured only if the server signed it (issue time and outcome,
/// endpoint included), within five minutes, for an anonymous endpoint.
async fn flash_cookie_is_signed_fresh_and_for_anonymous_forms_only(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.client();
    let res = client
        .http
        .post(client.url_of("/api/fn/auth/login"))
        .header("accept", "text/html")
        .form(&[
            ("email", "ada@example.com"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("keyward_flash="))
        .expect("a flash cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (issued, rest) = set.split_once('.').expect("issue time");
    let (value, mac) = rest.rsplit_once('.').expect("MAC");
    let json: String = url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    assert!(json.contains("ada@example.com"), "{json}");
    let sign = |issued_at: i64, json: &str| {
        let mac = app::backend::crypto::to_hex(
            &app.state
                .key
                .keyed_hash(format!("nojs-flash:{issued_at}:{json}").as_bytes()),
        );
        let value: String = url::form_urlencoded::byte_serialize(json.as_bytes()).collect();
        format!("keyward_flash={issued_at}.{value}.{mac}")
    };
    let shown = |html: &str| html.contains("The e-mail address or password is incorrect.");

    // The real cookie is shown, and so is one signed the same way (the check below is real).
    let html = login_page_with_cookie(&app, &format!("keyward_flash={set}")).await;
    assert!(shown(&html) && html.contains("ada@example.com"), "{html}");
    let now = app::backend::service::now();
    assert!(shown(
        &login_page_with_cookie(&app, &sign(now, &json)).await
    ));

    // Someone else's words under the real MAC: ignored.
    let tampered_json = json.replace("ada@example.com", "eve@evil.example");
    let tampered: String = url::form_urlencoded::byte_serialize(tampered_json.as_bytes()).collect();
    let html =
        login_page_with_cookie(&app, &format!("keyward_flash={issued}.{tampered}.{mac}")).await;
    assert!(
        !shown(&html) && !html.contains("eve@evil.example"),
        "{html}"
    );
    // A later issue time under the real MAC: ignored.
    let html =
        login_page_with_cookie(&app, &format!("keyward_flash={}.{value}.{mac}", now + 100)).await;
    assert!(!shown(&html));
    // Properly signed but older than five minutes: ignored.
    assert!(!shown(
        &login_page_with_cookie(&app, &sign(now - 301, &json)).await
    ));
    // Properly signed, but the outcome of a signed-in endpoint: ignored.
    let other = json.replace("/api/fn/auth/login", "/api/fn/team/invite");
    assert_ne!(other, json);
    let html = login_page_with_cookie(&app, &sign(now, &other)).await;
    assert!(!shown(&html) && !html.contains("ada@example.com"), "{html}");
    app.stop().await;
}

/// A sign-in whose throttle lock is held (a stuck transaction) gives up after the lock
/// timeout with "try again" instead of waiting for ever.
async fn a_stuck_sign_in_lock_times_out_with_503(b: Backend) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    if b != Backend::Postgres {
        return;
    }
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let mut other = AsyncPgConnection::establish(&db.url).await.unwrap();
    other
        .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7101, hashtext('ada@example.com'))")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(20),
        app.client().login("ada@example.com", PASSWORD),
    )
    .await
    .expect("the sign-in gave up by itself");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    other.batch_execute("ROLLBACK").await.unwrap();
    let (status, body) = app.client().login("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

/// Finding 14: an allowlist longer than any 32 ranges can be is refused by its size, with a
/// clear message, before any of it is parsed (or echoed back in an error).
async fn an_oversized_allowlist_is_refused_before_parsing(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let huge = format!("not-a-range{}", "x".repeat(4000));
    let id = account.to_string();
    let (status, body) = admin
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", id.as_str()),
                ("name", "deploy"),
                ("expires_in", "30"),
                ("allowed_cidrs", huge.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let text = body.to_string();
    assert!(text.contains("At most 32 ranges per token."), "{text}");
    assert!(text.contains("allowed_cidrs"), "{text}");
    assert!(
        !text.contains("not-a-range"),
        "the paste was parsed: {text}"
    );
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM tokens").await,
        0
    );
    app.stop().await;
}

/// ASVS 2.2.1: guessing from one address cannot lock the owner out from another; IPv6 counts
/// per /64; many failures slow an account down; `keyward user unlock` clears it (audited).
async fn throttle_is_per_account_and_address_and_unlockable(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start_with(behind_proxy(&db)).await;
    app.create_user("ada@example.com", Role::Admin).await;
    let attacker = "203.0.113.9";
    for _ in 0..5 {
        let res = login_from(&app, "ada@example.com", "wrong password!", attacker).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let res = login_from(&app, "ada@example.com", PASSWORD, attacker).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner, elsewhere, signs in.
    let res = login_from(&app, "ada@example.com", PASSWORD, "192.0.2.10").await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    // That clears the owner's address only: the guesser is still stopped.
    let res = login_from(&app, "ada@example.com", "wrong password!", attacker).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // IPv6: the whole /64 is one address.
    for i in 1..=5 {
        let ip = format!("2001:db8:9:9::{i}");
        let res = login_from(&app, "ada@example.com", "wrong password!", &ip).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let res = login_from(&app, "ada@example.com", PASSWORD, "2001:db8:9:9:ffff::77").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = login_from(&app, "ada@example.com", PASSWORD, "2001:db8:9:a::1").await;
    assert_eq!(res.status(), StatusCode::OK);

    // Many failures from everywhere: each failing address is spaced out (a minute at most),
    // but the owner, from an address that is not failing, is never kept out.
    let now = app::backend::service::now();
    let rows = (0..25)
        .map(|i| format!("('ada@example.com', '198.51.100.{i}', {})", now - 25 + i))
        .collect::<Vec<_>>()
        .join(", ");
    exec_sql(
        &app.state,
        &format!("INSERT INTO login_failures (email, ip, at) VALUES {rows}"),
    )
    .await;
    let res = login_from(&app, "ada@example.com", "wrong password!", "198.51.100.24").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let res = login_from(&app, "ada@example.com", PASSWORD, "192.0.2.99").await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    // The guesser keeps going from new addresses, a guess right before each of the owner's
    // attempts: the owner still gets in.
    for i in 0..3 {
        let guess = format!("198.51.100.{}", 100 + i);
        let res = login_from(&app, "ada@example.com", "wrong password!", &guess).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = login_from(&app, "ada@example.com", PASSWORD, "192.0.2.99").await;
        assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    }

    let (ok, _, err) = keyward(&db, &["user", "unlock", "--email", "ada@example.com"], None);
    assert!(ok, "{err}");
    assert!(err.contains("Cleared"), "{err}");
    let res = login_from(&app, "ada@example.com", PASSWORD, attacker).await;
    assert_eq!(res.status(), StatusCode::OK, "unlocked");
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'user.unlock' AND actor_label = 'local operator'"
        )
        .await,
        1
    );
    app.stop().await;
}

/// ASVS 3.2.1 / 3.2.3 (kept): a new session id at every sign-in, and only its hash stored.
async fn session_id_changes_at_sign_in_and_is_stored_hashed(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let client = app.client();
    let (status, _) = client.login("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let first = client.session_cookie().expect("a session");
    let (status, _) = client.login("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let second = client.session_cookie().expect("a session");
    assert_ne!(first, second, "the id changes at sign-in");
    assert!(!first.contains('\''));
    assert_eq!(
        count_sql(
            &app.state,
            &format!("SELECT COUNT(*) AS n FROM sessions WHERE id = '{second}'")
        )
        .await,
        0,
        "the id itself is not stored"
    );
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM sessions").await,
        1,
        "the old id is gone"
    );
    app.stop().await;
}
