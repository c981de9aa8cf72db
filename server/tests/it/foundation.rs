//! Foundation: setup code, login, throttling, sessions, logout, web hardening, migrations.

use app::backend::db::{migrate, DatabaseUrl};
use app::backend::service::login;
use app::domain::Role;
use reqwest::StatusCode;

use crate::harness::{Backend, Proc, TestApp, TestDb, PASSWORD};

backends!(
    setup_code_works_once,
    login_outcomes_share_one_message,
    login_is_throttled_after_five_failures,
    session_survives_a_restart,
    logout_ends_the_session_everywhere,
    cross_origin_posts_are_refused,
    migrations_apply_to_an_empty_database_and_are_idempotent,
    readiness_reports_the_database,
    deactivated_users_lose_their_session,
    the_start_up_line_names_version_backend_and_url,
);

async fn setup_code_works_once(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let code = login::issue_setup_code(&app.state)
        .await
        .unwrap()
        .expect("no users yet, so a code");
    let code = code.expose().to_string();
    let client = app.client();

    // The page offers the form for a good code, refuses a bad one.
    let (_, body) = client.get("auth/setup-state", &[("code", &code)]).await;
    assert_eq!(body["needs_setup"], true);
    assert_eq!(body["code_valid"], true);
    let (_, body) = client.get("auth/setup-state", &[("code", "nope")]).await;
    assert_eq!(body["code_valid"], false);

    // Bad input changes nothing and names the field.
    let (status, body) = client
        .post(
            "auth/setup",
            &[
                ("code", &code),
                ("email", "not-an-email"),
                ("display_name", ""),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "email");

    let form = [
        ("code", code.as_str()),
        ("email", "Admin@Example.com"),
        ("display_name", "Ada"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    let (status, body) = client.post("auth/setup", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me = client.me().await;
    assert_eq!(me["email"], "admin@example.com");
    assert_eq!(me["role"], "admin");

    // The code is dead now, for everyone.
    let other = app.client();
    let (status, body) = other.post("auth/setup", &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("already complete"));
    assert_eq!(other.me().await, serde_json::Value::Null);
    assert!(login::issue_setup_code(&app.state).await.unwrap().is_none());
    app.stop().await;
}

async fn login_outcomes_share_one_message(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Admin).await;
    let client = app.client();

    let (wrong_status, wrong) = client.login("ada@example.com", "not the password").await;
    let (unknown_status, unknown) = client.login("nobody@example.com", "not the password").await;
    assert_eq!(wrong_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_status, wrong_status);
    assert_eq!(wrong["message"], unknown["message"]);
    assert_eq!(wrong["message"], login::BAD_CREDENTIALS);
    assert_eq!(client.me().await, serde_json::Value::Null);

    let (status, body) = client.login("ADA@example.com ", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(client.me().await["email"], "ada@example.com");
    app.stop().await;
}

async fn login_is_throttled_after_five_failures(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let client = app.client();
    for _ in 0..5 {
        let (status, _) = client.login("ada@example.com", "wrong password!").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even the right password waits until the window has passed.
    let (status, body) = client.login("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "throttled");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Too many attempts. Try again in 15 minutes"),
        "{message}"
    );
    assert_eq!(client.me().await, serde_json::Value::Null);

    // The throttle lives in the database: a second process (same database) agrees.
    let second = TestApp::start(&db).await;
    let (status, _) = second.client().login("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    second.stop().await;
    app.stop().await;
}

async fn session_survives_a_restart(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.user("ada@example.com", Role::Admin).await;
    let cookie = client.session_cookie().expect("session cookie");
    app.stop().await;

    let restarted = TestApp::start(&db).await;
    let again = restarted.client();
    again.jar.add_cookie_str(
        &format!("keyward_session={cookie}"),
        &reqwest::Url::parse(&again.base).unwrap(),
    );
    assert_eq!(again.me().await["email"], "ada@example.com");
    restarted.stop().await;
}

async fn logout_ends_the_session_everywhere(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.user("ada@example.com", Role::Viewer).await;
    let cookie = client.session_cookie().unwrap();
    let (status, body) = client.post("auth/logout", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(client.me().await, serde_json::Value::Null);
    // The old cookie value is dead on the server, not just forgotten by the browser.
    let replay = app.client();
    replay.jar.add_cookie_str(
        &format!("keyward_session={cookie}"),
        &reqwest::Url::parse(&replay.base).unwrap(),
    );
    assert_eq!(replay.me().await, serde_json::Value::Null);
    app.stop().await;
}

async fn cross_origin_posts_are_refused(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.user("ada@example.com", Role::Admin).await;
    let url = app.url("/api/fn/service-accounts/create");
    let form = [("name", "evil_bot"), ("role", "admin")];

    let res = client
        .http
        .post(&url)
        .header("Origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client
        .http
        .post(&url)
        .header("Sec-Fetch-Site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = client.get("service-accounts/list", &[]).await;
    assert_eq!(list["total"], 0, "nothing was created");

    // Our own pages' requests pass.
    let origin = format!("http://{}", app.addr);
    let res = client
        .http
        .post(&url)
        .header("Origin", origin)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .http
        .post(&url)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("name", "good_bot"), ("role", "viewer")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.stop().await;
}

async fn migrations_apply_to_an_empty_database_and_are_idempotent(b: Backend) {
    let db = TestDb::new(b).await;
    let url = DatabaseUrl::parse(&db.url).unwrap();
    let first = migrate::run(&url).await.unwrap();
    assert!(!first.is_empty(), "an empty database gets every migration");
    let second = migrate::run(&url).await.unwrap();
    assert!(second.is_empty(), "running again applies nothing");
    // The schema is usable.
    let app = TestApp::start(&db).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    app.stop().await;
}

async fn readiness_reports_the_database(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.client();
    let res = client.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["database"],
        if b == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    app.state.db.close();
    let res = client.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

async fn deactivated_users_lose_their_session(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let viewer = app.user("viewer@example.com", Role::Viewer).await;
    let viewer_id = viewer.me().await["id"].as_i64().unwrap().to_string();
    let (status, body) = admin
        .post(
            "team/set-active",
            &[("id", &viewer_id), ("active", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(viewer.me().await, serde_json::Value::Null);
    let (status, body) = viewer.login("viewer@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_database_url_is_a_clear_start_up_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root@localhost/keyward")
        .env(
            "KEYWARD_DATA_DIR",
            std::env::temp_dir().join("keyward-bad-url"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported scheme `mysql`"), "{stderr}");
    assert!(stderr.contains("sqlite://"), "{stderr}");

    let db = TestDb::new(Backend::Sqlite).await;
    let mut config = db.config();
    config.database_url = Some("postgress://oops".into());
    let err = server::startup::build_state(&config)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("unsupported scheme `postgress`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_carry_security_headers_and_unknown_pages_are_404() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::start(&db).await;
    let client = app.client();
    let res = client.http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(csp.contains("'nonce-"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    // Every inline script carries the nonce.
    assert_eq!(
        html.matches("<script").count(),
        html.matches(&format!("nonce=\"{nonce}\"")).count()
    );

    let (status, html) = client.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));

    // Protected pages send anonymous visitors to the login page and back.
    let res = client.http.get(app.url("/team")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login?next=%2Fteam");

    // Oversized bodies are refused before any handler reads them.
    let big = "x".repeat(server::http::MAX_BODY_BYTES + 1);
    let res = client
        .http
        .post(app.url("/api/fn/auth/login"))
        .body(big)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    app.stop().await;
}

/// What `git rev-parse` says the checkout is at (the binary was built from it).
fn checkout_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn version_names_the_release_and_the_commit() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let commit = checkout_commit().unwrap_or_else(|| "unknown".into());
    assert_eq!(
        stdout.trim(),
        format!("keyward {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}

async fn the_start_up_line_names_version_backend_and_url(b: Backend) {
    let mut db = TestDb::new(b).await;
    // A password in the URL (PostgreSQL's trust authentication ignores it) must never be
    // logged.
    let password = "pw-never-logged-4711";
    if b == Backend::Postgres {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_password(Some(password)).unwrap();
        db.url = url.to_string();
    }
    let mut proc = Proc::serve(&db, &[]).await;
    proc.stop();
    let log = proc.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("Keyward is listening"))
        .unwrap_or_else(|| panic!("no start-up line in:\n{log}"));
    assert!(line.contains(server::VERSION), "{line}");
    let backend = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert!(line.contains(&format!("backend=\"{backend}\"")), "{line}");
    assert!(line.contains(&proc.base()), "{line}");
    assert!(
        !log.contains(password),
        "the database password leaked:\n{log}"
    );
}
