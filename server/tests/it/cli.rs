//! The command line for scripted installs: same rules, same errors, secrets only on stdout.

use reqwest::StatusCode;

use crate::harness::{count_sql, keyward, read, Backend, TestApp, TestDb};

backends!(
    command_line_manages_accounts_and_tokens,
    dev_seed_writes_working_secrets
);

async fn command_line_manages_accounts_and_tokens(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");

    let (ok, _, err) = keyward(
        &db,
        &["user", "create", "--admin", "--email", "ops@example.com"],
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = keyward(
        &db,
        &["user", "create", "--email", "weak@example.com"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 12 characters"), "{err}");

    let (ok, out, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "deployment",
            "--description",
            "CI",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.trim().parse::<i64>().is_ok(),
        "prints the new id: {out}"
    );
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "viewer",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "CI Bot",
            "--role",
            "viewer",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("lowercase"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "x_bot",
            "--role",
            "god",
        ],
        None,
    );
    assert!(!ok && err.contains("roles"), "{err}");
    let (ok, out, _) = keyward(&db, &["service-account", "list"], None);
    assert!(
        ok && out.contains("ci_bot") && out.contains("deployment"),
        "{out}"
    );

    let (ok, out, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
            "--expires-in",
            "30d",
        ],
        None,
    );
    assert!(ok, "{err}");
    let secret = out.trim_end_matches('\n');
    assert!(
        !secret.contains('\n') && secret.starts_with("kwsa_") && secret.len() == 56,
        "only the secret on stdout: {out:?}"
    );
    assert!(
        !err.contains(secret),
        "the secret is not repeated on stderr"
    );
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
        ],
        None,
    );
    assert!(!ok && err.contains("already has a token named"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "nobody",
            "--name",
            "deploy",
        ],
        None,
    );
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "later",
            "--expires-in",
            "soon",
        ],
        None,
    );
    assert!(!ok && err.contains("not an expiry"), "{err}");

    // The token works against the server on the same database (and key).
    let app = TestApp::start(&db).await;
    let bearer = app.client().with_bearer(secret);
    assert_eq!(
        bearer.get("service-accounts/list", &[]).await.0,
        StatusCode::OK
    );

    let (ok, out, _) = keyward(&db, &["token", "list"], None);
    assert!(
        ok && out.contains("deploy") && out.contains(&secret[..13]) && !out.contains(&secret[13..]),
        "{out}"
    );
    let id = out
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (ok, _, err) = keyward(&db, &["token", "revoke", &id], None);
    assert!(ok, "{err}");
    // Another process (the command line) changed it: the server sees it within a second.
    let seen = crate::harness::eventually(std::time::Duration::from_secs(1), || async {
        let (status, body) = bearer.get("service-accounts/list", &[]).await;
        status == StatusCode::UNAUTHORIZED && body["code"] == "revoked"
    })
    .await;
    assert!(
        seen,
        "the server still accepts a token revoked on the command line"
    );
    let (ok, _, err) = keyward(&db, &["token", "revoke", "999999"], None);
    assert!(!ok && err.contains("not found"), "{err}");

    // The cap of 20 holds on the command line too.
    for i in 0..20 {
        let name = format!("bulk_{i:02}");
        let (ok, _, err) = keyward(
            &db,
            &[
                "token",
                "create",
                "--service-account",
                "ci_bot",
                "--name",
                &name,
            ],
            None,
        );
        assert!(ok, "{i}: {err}");
    }
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "bulk_20",
        ],
        None,
    );
    assert!(!ok && err.contains("20 live tokens"), "{err}");

    // The operator's actions are in the audit log.
    let (_, audit) = app
        .user("admin2@example.com", app::domain::Role::Admin)
        .await
        .get("audit/list", &[("actor", "local operator")])
        .await;
    assert!(audit["total"].as_i64().unwrap() >= 23, "{audit}");
    app.stop().await;
}

/// The token table's indexes, triggers and foreign keys, as the catalog lists them.
async fn token_table_schema(app: &TestApp) -> i64 {
    let sql = match app.state.db.backend_name() {
        "sqlite" => {
            "SELECT COUNT(*) AS n FROM sqlite_schema WHERE tbl_name = 'tokens' \
             AND type IN ('index', 'trigger')"
        }
        _ => {
            "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'tokens') \
             + (SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'tokens'::regclass) AS n"
        }
    };
    count_sql(&app.state, sql).await
}

/// `dev seed --secrets-out`: one real secret per token, in a file only its owner can read,
/// never printed, and accepted by the server on the same database. Seeding appends, and the
/// indexes it rebuilds come back as the migrations made them.
async fn dev_seed_writes_working_secrets(b: Backend) {
    use std::os::unix::fs::PermissionsExt;

    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let app = TestApp::start(&db).await;
    let schema = token_table_schema(&app).await;
    assert!(schema > 3, "{schema}");

    let out = db.data_dir.join("seeded-secrets.txt");
    let (ok, stdout, stderr) = keyward(
        &db,
        &[
            "dev",
            "seed",
            "--tokens",
            "60",
            "--accounts",
            "6",
            "--secrets-out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let text = std::fs::read_to_string(&out).unwrap();
    let secrets: Vec<&str> = text.lines().collect();
    assert_eq!(secrets.len(), 60);
    for s in &secrets {
        assert!(s.len() == 56 && (s.starts_with("kwsa_") || s.starts_with("kwpt_")));
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "a secret was printed"
        );
    }
    // Without the flag: appended, same seed, no secrets anywhere.
    let (ok, stdout, stderr) = keyward(
        &db,
        &["dev", "seed", "--tokens", "40", "--accounts", "4"],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("tokens"), "progress on stderr: {stderr}");

    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM tokens").await,
        100
    );
    assert_eq!(
        token_table_schema(&app).await,
        schema,
        "every index is back"
    );
    if b == Backend::Sqlite {
        // The full-text index was rebuilt: it finds every person's token.
        assert_eq!(
            count_sql(
                &app.state,
                "SELECT COUNT(*) AS n FROM token_search WHERE token_search MATCH '\"example.com\"'"
            )
            .await,
            count_sql(
                &app.state,
                "SELECT COUNT(*) AS n FROM tokens WHERE kind = 'personal'"
            )
            .await
        );
    }

    // Every secret matches its stored hash: the server answers with the token's state (some
    // are revoked, expired, of a disabled owner or limited to other addresses), never
    // "invalid", and the live ones get in.
    let http = app.client().http;
    let mut accepted = 0;
    for s in &secrets {
        let res = http
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(s)
            .send()
            .await
            .unwrap();
        let (status, body) = read(res).await;
        match status {
            StatusCode::OK => {
                assert_eq!(body["token"]["prefix"].as_str().unwrap(), &s[..13]);
                accepted += 1;
            }
            _ => assert!(
                ["revoked", "expired", "owner_disabled", "ip_not_allowed"]
                    .contains(&body["code"].as_str().unwrap_or_default()),
                "{status} {body}"
            ),
        }
    }
    assert!(accepted > 0, "no seeded token was accepted");
    assert!(
        accepted < secrets.len(),
        "the default seed has every status"
    );

    // --all-live (the verification benchmark's data): every token gets in.
    let live = db.data_dir.join("live-secrets.txt");
    let (ok, _, stderr) = keyward(
        &db,
        &[
            "dev",
            "seed",
            "--tokens",
            "40",
            "--accounts",
            "4",
            "--all-live",
            "--secrets-out",
            live.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let text = std::fs::read_to_string(&live).unwrap();
    assert_eq!(text.lines().count(), 40);
    for s in text.lines() {
        let res = http
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(s)
            .send()
            .await
            .unwrap();
        let (status, body) = read(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.stop().await;
}
